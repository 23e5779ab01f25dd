import '@tensorflow/tfjs-backend-cpu';
import { runBadInputSuite } from '@tvl/core/testing';
import '@tvl/libav';

runBadInputSuite({ backend: 'libav', device: 'cpu' });
