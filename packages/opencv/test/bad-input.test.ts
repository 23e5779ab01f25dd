import '@tensorflow/tfjs-backend-cpu';
import { runBadInputSuite } from '@tvl/core/testing';
import '@tvl/opencv';

runBadInputSuite({
  backend: 'opencv',
  device: 'cpu',
  concealsDamage: 'VideoCapture hides decoding errors and returns concealed pictures',
});
