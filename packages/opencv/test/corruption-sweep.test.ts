import '@tensorflow/tfjs-backend-cpu';
import { runCorruptionSweep } from '@tvl/testkit';
import '@tvl/opencv';

runCorruptionSweep({
  backend: 'opencv',
  device: 'cpu',
  concealsDamage: 'VideoCapture hides decoding errors and returns concealed pictures',
});
