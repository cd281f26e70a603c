// @bess/alarms: persisted alarms with a lifecycle, the always-on detector that raises them, and
// notifications by webhook and e-mail through a persisted outbox.
export { openPglite, openPostgres, type SqlDatabase } from './db.js';
export { SCHEMA_VERSION } from './migrations.js';
export { AlarmMonitor, type MonitorOptions } from './monitor.js';
export { signBody } from './notify/channels.js';
export { EMPTY_CONFIG, loadNotifyConfig, notifyConfigSchema, type NotifyConfig } from './notify/config.js';
export { Notifier, type NotifierOptions } from './notify/notifier.js';
export { keepSecrets, loadSavedConfig, redacted, saveConfig, type SavedConfig } from './notify/settings.js';
export { ALARM_ID, AlarmStore, UnknownAlarmError } from './store.js';
export type { Alarm, AlarmChange, AlarmComment, AlarmFilter, AlarmStatus, AlarmTrigger } from './types.js';
