import '@tensorflow/tfjs-backend-cpu';
import { runBadInputSuite } from '@tvl/testkit';
import '@tvl/libav';

runBadInputSuite({ backend: 'libav', device: 'cpu' });
