// One jest run over every package, so the suite ends with a single summary.
export default {
  projects: ['<rootDir>/packages/*/jest.config.js'],
};
