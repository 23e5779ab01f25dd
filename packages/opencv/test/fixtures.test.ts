import '@tensorflow/tfjs-backend-cpu';
import { runFixtureSuite } from '@tvl/core/testing';
import '@tvl/opencv';

runFixtureSuite({ backend: 'opencv', device: 'cpu' });
