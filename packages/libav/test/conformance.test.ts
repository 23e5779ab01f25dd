import '@tensorflow/tfjs-backend-cpu';
import { runConformanceSuite } from '@tvl/core/testing';
import '@tvl/libav';

runConformanceSuite({ backend: 'libav', device: 'cpu' });
