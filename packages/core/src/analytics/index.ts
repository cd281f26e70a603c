export { ANOMALY_KINDS, mergeDetections, type AnomalyEvent, type AnomalyKind, type Severity } from './events.js';
export { detectAnomalies, type DetectOptions } from './detect.js';
export { forecastSignal, seasonalNaive, profileForecast, resample, type Forecast, type ForecastPoint } from './forecast.js';
export { remainingUsefulLife, type RemainingLife } from './rul.js';
export { scoreDetection, backtest, type KindScore } from './evaluate.js';
export { RecordAlerts } from './streaming.js';
