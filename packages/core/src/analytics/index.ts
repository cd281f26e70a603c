export {
  ANOMALY_KINDS,
  mergeDetections,
  SEVERITY_RANK,
  type AnomalyEvent,
  type AnomalyKind,
  type Severity,
} from './events.js';
export { detectAnomalies, type DetectOptions } from './detect.js';
export { energyThroughput, type EnergyThroughput } from './energy.js';
export { forecastSignal, resample, type Forecast, type ForecastPoint } from './forecast.js';
export { remainingUsefulLife, type RemainingLife } from './rul.js';
export {
  createStreamingDetector,
  watchesSignal,
  type AlertStatus,
  type AlertUpdate,
  type StreamingDetector,
  type StreamingDetectorOptions,
} from './streaming.js';
export { DeviceAlertFeed, type AlertFeedOptions, type AlertFeedStats } from './feed.js';
