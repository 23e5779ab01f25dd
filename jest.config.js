// One jest run over every package, so the suite ends with a single summary.
export default {
  projects: ['<rootDir>/packages/*/jest.config.js', '<rootDir>/examples/jest.config.js'],
  // Clip generation with the ffmpeg CLI and whole-file decodes take seconds on 2 cores.
  testTimeout: 120000,
};
