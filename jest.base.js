// Shared jest settings for every package: TypeScript sources run as ESM through
// ts-jest, and workspace packages resolve to their sources so tests need no build
// step for the TypeScript (native addons are still built by `pnpm build`).
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(fileURLToPath(import.meta.url));

export function jestConfig(displayName) {
  return {
    displayName,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    moduleNameMapper: {
      '^@tvl/core$': path.join(root, 'packages/core/src/index.ts'),
      '^@tvl/core/backend$': path.join(root, 'packages/core/src/for-backends.ts'),
      '^@tvl/testkit$': path.join(root, 'packages/testkit/src/index.ts'),
      '^@tvl/libav$': path.join(root, 'packages/libav/src/index.ts'),
      '^@tvl/opencv$': path.join(root, 'packages/opencv/src/index.ts'),
      '^@tvl/nvdec$': path.join(root, 'packages/nvdec/src/index.ts'),
      '^@tvl/nvvl$': path.join(root, 'packages/nvvl/src/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: path.join(root, 'tsconfig.test.json') }],
    },
  };
}
