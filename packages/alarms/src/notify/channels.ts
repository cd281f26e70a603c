import { createHmac } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Alarm, AlarmTrigger } from '../types.js';
import type { Channel } from './config.js';

/** What a channel is sent: the alarm as it is now, why, and the delivery's idempotency key. */
export interface Message {
  trigger: AlarmTrigger;
  alarm: Alarm;
  deliveryId: string;
  sentBy: string;
}

/** Hex HMAC-SHA256 of the raw body with the channel's secret, as in `X-Bess-Signature: sha256=<hex>`. */
export function signBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Sends one message; throws (with what the far side said) when it was not accepted. */
export async function send(channel: Channel, message: Message): Promise<string> {
  if (channel.type === 'webhook') {
    const body = JSON.stringify({ trigger: message.trigger, alarm: message.alarm, deliveryId: message.deliveryId });
    const res = await fetch(channel.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Bess-Signature': `sha256=${signBody(body, channel.secret)}`,
        'X-Bess-Delivery': message.deliveryId,
        'Idempotency-Key': message.deliveryId,
        'User-Agent': 'bess-telemetry',
      },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(channel.timeoutMs ?? 10_000),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    return `HTTP ${res.status}`;
  }
  const transport = nodemailer.createTransport(channel.smtp);
  try {
    const a = message.alarm;
    const info = await transport.sendMail({
      from: channel.from ?? 'bess-telemetry@localhost',
      to: channel.to,
      subject: `[BESS] ${a.severity.toUpperCase()} ${a.kind} on ${a.deviceId}: ${message.trigger}`,
      text: [
        a.message,
        '',
        `Device: ${a.deviceId}`,
        `Signals: ${a.signals.join(', ')}`,
        `Status: ${a.status}${a.acknowledged ? ` (acknowledged by ${a.acknowledgedBy})` : ''}`,
        `Opened: ${new Date(a.openedAt).toISOString()}`,
        a.clearedAt === null ? '' : `Cleared: ${new Date(a.clearedAt).toISOString()}`,
        `Alarm id: ${a.id}`,
      ].join('\n'),
      headers: { 'X-Bess-Delivery': message.deliveryId },
      messageId: `<${message.deliveryId.replace(/[^A-Za-z0-9.-]/g, '.')}@bess-telemetry>`,
    });
    return `SMTP ${info.response}`;
  } finally {
    transport.close();
  }
}
