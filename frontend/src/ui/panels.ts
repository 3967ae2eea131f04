// The queue and sync panel and the device panel.
import { call } from '../api';
import { h } from '../dom';
import { formatDate, formatTime } from '../format';
import type { Key } from '../i18n';
import { faultMessage } from '../state';
import type { Ctx } from './ctx';

interface QueueStatus {
  queued: number;
  sent: number;
  acked: number;
  lastSynced?: string;
  lastAttempt?: string;
  lastError?: string;
}

interface DeviceStatus {
  kind: 'reader' | 'camera' | 'sensor';
  state: 'ready' | 'no_card' | 'missing' | 'error';
  name: string;
}

function when(iso: string): string {
  const d = new Date(iso);
  return `${formatTime(d)} ${formatDate(d)}`;
}

export function queuePanel(ctx: Ctx): HTMLElement {
  const host = h('section', { class: 'card', id: 'queue' }, h('h1', {}, ctx.tr('queue.heading')));
  const body = h('div', {}, h('p', { class: 'muted' }, ctx.tr('common.loading')));
  const refresh = async (): Promise<void> => {
    const r = await call<QueueStatus>('Queue', 'Status');
    if (!r.ok || !r.data) {
      body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, faultMessage(ctx.lang, r.error)));
      return;
    }
    const q = r.data;
    const stat = (k: Key, n: number, id: string): HTMLElement =>
      h('div', { class: 'stat', id }, h('span', { class: 'n' }, String(n)), h('span', {}, ctx.tr(k)));
    const parts: (HTMLElement | null)[] = [
      h('div', { class: 'stats' }, stat('queue.queued', q.queued, 'q-queued'), stat('queue.sent', q.sent, 'q-sent'), stat('queue.acked', q.acked, 'q-acked')),
      h('p', { id: 'q-last' }, q.lastSynced ? ctx.tr('queue.lastSynced', { when: when(q.lastSynced) }) : ctx.tr('queue.never')),
      q.lastError ? h('p', { class: 'form-error', id: 'q-error' }, ctx.tr('queue.lastError', { error: q.lastError })) : null,
      h('p', { class: 'muted' }, ctx.tr('queue.offline')),
    ];
    body.replaceChildren(...parts.filter((x): x is HTMLElement => x !== null));
  };
  host.append(body, h('button', { type: 'button', onclick: () => void refresh() }, ctx.tr('queue.refresh')));
  void refresh();
  return host;
}

export function devicesPanel(ctx: Ctx): HTMLElement {
  const host = h('section', { class: 'card', id: 'devices' }, h('h1', {}, ctx.tr('devices.heading')));
  const table = h('table', { class: 'data devices' });
  const draw = (list: DeviceStatus[]): void => {
    table.replaceChildren(
      ...list.map((d) =>
        h(
          'tr',
          { 'data-device': d.kind, 'data-state': d.state },
          h('th', {}, ctx.tr(`device.${d.kind}` as Key)),
          h('td', { class: `state ${d.state}` }, ctx.tr(`device.${d.state}` as Key)),
          h('td', { class: 'muted' }, d.name),
        ),
      ),
    );
  };
  const load = async (method: 'Status' | 'Reconnect'): Promise<void> => {
    const r = await call<DeviceStatus[]>('Devices', method);
    if (r.ok && r.data) draw(r.data);
    else table.replaceChildren(h('tr', {}, h('td', { class: 'form-error' }, faultMessage(ctx.lang, r.error))));
  };
  host.append(table, h('button', { type: 'button', id: 'reconnect', onclick: () => void load('Reconnect') }, ctx.tr('devices.reconnect')));
  void load('Status');
  return host;
}
