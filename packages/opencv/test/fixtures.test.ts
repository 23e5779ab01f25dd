import '@tensorflow/tfjs-backend-cpu';
import { runFixtureSuite } from '@tvl/testkit';
import '@tvl/opencv';

runFixtureSuite({ backend: 'opencv', device: 'cpu' });
