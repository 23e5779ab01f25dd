import '@tensorflow/tfjs-backend-cpu';
import { runFixtureSuite } from '@tvl/testkit';
import '@tvl/libav';

runFixtureSuite({ backend: 'libav', device: 'cpu' });
