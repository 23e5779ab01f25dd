import '@tensorflow/tfjs-backend-cpu';
import { runConformanceSuite } from '@tvl/core/testing';
import '@tvl/opencv';

runConformanceSuite({ backend: 'opencv', device: 'cpu' });
