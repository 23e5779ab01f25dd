import '@tensorflow/tfjs-backend-cpu';
import { runCorruptionSweep } from '@tvl/testkit';
import '@tvl/libav';

// Three passes over the packet-damaged copies: FFmpeg's frame threads can hand out a concealed
// picture before its damage is flagged (see tvl/ffmpeg_log.h), a race that shows only in
// some runs.
runCorruptionSweep({ backend: 'libav', device: 'cpu', packetPasses: 3 });
