import '@tensorflow/tfjs-backend-cpu';
import { runBadInputSuite } from '@tvl/testkit';
import '@tvl/opencv';

runBadInputSuite({
  backend: 'opencv',
  device: 'cpu',
  concealsDamage: 'VideoCapture hides decoding errors and returns concealed pictures',
});
