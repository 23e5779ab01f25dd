#!/usr/bin/env node
// Compiler flags for OpenCV 4's headers: pkg-config when libopencv-dev's opencv4.pc is there,
// else Debian's include directory (the per-module -dev packages ship headers but no .pc file).
const { execSync } = require('node:child_process');
const fs = require('node:fs');
try {
  process.stdout.write(
    execSync('pkg-config --cflags opencv4', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim(),
  );
} catch {
  if (!fs.existsSync('/usr/include/opencv4/opencv2/videoio.hpp')) {
    console.error('OpenCV 4 headers not found: install libopencv-videoio-dev libopencv-imgproc-dev libopencv-core-dev');
    process.exit(1);
  }
  process.stdout.write('-I/usr/include/opencv4');
}
