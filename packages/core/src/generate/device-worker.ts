import { parentPort, workerData } from 'node:worker_threads';
import { generateDevice, type DeviceJob } from './device.js';

parentPort!.postMessage(generateDevice(workerData as DeviceJob));
