import '@tensorflow/tfjs-backend-cpu';
import { runConformanceSuite } from '@tvl/testkit';
import '@tvl/opencv';

runConformanceSuite({ backend: 'opencv', device: 'cpu' });
