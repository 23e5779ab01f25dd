// binding.gyp files use this to find the shared headers and CUDA sources:
//   "include_dirs": ["<!(node -p \"require('@tvl/native-common').include\")"]
const path = require('node:path');
exports.root = __dirname;
exports.include = path.join(__dirname, 'include');
exports.cuda = path.join(__dirname, 'cuda');
