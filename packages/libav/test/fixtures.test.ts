import '@tensorflow/tfjs-backend-cpu';
import { runFixtureSuite } from '@tvl/core/testing';
import '@tvl/libav';

runFixtureSuite({ backend: 'libav', device: 'cpu' });
