import '@tensorflow/tfjs-backend-cpu';
import { runConformanceSuite } from '@tvl/testkit';
import '@tvl/libav';

runConformanceSuite({ backend: 'libav', device: 'cpu' });
