// binding.gyp files use this to find the shared headers:
//   "include_dirs": ["<!(node -p \"require('@tvl/native-common').include\")"]
const path = require('node:path');
exports.include = path.join(__dirname, 'include');
