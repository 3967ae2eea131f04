// The queue and sync panel and the device panel.
import { call, onEvent } from '../api';
import { h } from '../dom';
import { formatDate, formatTime } from '../format';
import type { Key } from '../i18n';
import { faultMessage, type QueueStatus, syncProblemMessage } from '../state';
import type { Ctx } from './ctx';

interface DeviceStatus {
  kind: 'reader' | 'camera' | 'sensor';
  state: 'ready' | 'no_card' | 'missing' | 'error';
  name: string;
  /** English, for support: shown to supervisors under the technical details */
  detail?: string;
}

function when(iso: string): string {
  const d = new Date(iso);
  return `${formatTime(d)} ${formatDate(d)}`;
}

let unsubscribeQueue: (() => void) | null = null;

/**
 * queuePanel shows the outbox counts and the last sync outcome, and follows the uploader's
 * queue:changed events live (a sync in progress, an outage and its reason, the recovery). It
 * works with the network down: everything it reads is at the desk.
 */
export function queuePanel(ctx: Ctx): HTMLElement {
  const host = h('section', { class: 'card', id: 'queue' }, h('h1', {}, ctx.tr('queue.heading')));
  const body = h('div', {}, h('p', { class: 'muted' }, ctx.tr('common.loading')));
  let live: Partial<QueueStatus> = {};
  const show = (q: QueueStatus): void => {
    const stat = (k: Key, n: number, id: string): HTMLElement =>
      h('div', { class: 'stat', id }, h('span', { class: 'n' }, String(n)), h('span', {}, ctx.tr(k)));
    const problem = syncProblemMessage(ctx.lang, q);
    const parts: (HTMLElement | null)[] = [
      h('div', { class: 'stats' }, stat('queue.queued', q.queued, 'q-queued'), stat('queue.sent', q.sent, 'q-sent'), stat('queue.acked', q.acked, 'q-acked')),
      h('p', { id: 'q-last' }, q.lastSynced ? ctx.tr('queue.lastSynced', { when: when(q.lastSynced) }) : ctx.tr('queue.never')),
      q.syncing ? h('p', { class: 'notice', id: 'q-syncing', 'aria-live': 'polite' }, ctx.tr('queue.syncing')) : null,
      problem
        ? h(
            'div',
            { class: 'form-error', id: 'q-error', role: 'alert' },
            h('p', { id: 'q-problem' }, problem),
            q.retryIn ? h('p', { class: 'muted', id: 'q-retry' }, ctx.tr('queue.retryIn', { seconds: String(q.retryIn) })) : null,
            q.lastError ? h('details', {}, h('summary', {}, ctx.tr('queue.details')), h('code', {}, q.lastError)) : null,
          )
        : null,
      !problem && q.uploading && q.queued === 0 && q.sent === 0 && q.acked > 0 ? h('p', { class: 'verdict ok', id: 'q-done' }, ctx.tr('queue.allAcked')) : null,
      q.uploading ? null : h('p', { class: 'muted', id: 'q-not-uploading' }, ctx.tr('queue.notUploading')),
      h('p', { class: 'muted' }, ctx.tr('queue.offline')),
    ];
    body.replaceChildren(...parts.filter((x): x is HTMLElement => x !== null));
    host.setAttribute('data-queued', String(q.queued));
  };
  const refresh = async (): Promise<void> => {
    const r = await call<QueueStatus>('Queue', 'Status');
    if (!r.ok || !r.data) {
      body.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, faultMessage(ctx.lang, r.error)));
      return;
    }
    // The stored state has the counts and the last error; the uploader's last event adds what
    // only it knows (a batch in flight, when it retries).
    show({ ...r.data, syncing: live.syncing, retryIn: r.data.problem ? live.retryIn : undefined });
  };
  unsubscribeQueue?.();
  unsubscribeQueue = onEvent<QueueStatus | null>('queue:changed', (q) => {
    if (!host.isConnected) {
      unsubscribeQueue?.();
      unsubscribeQueue = null;
      return;
    }
    live = q ?? {};
    void refresh();
  });
  const syncNow = async (): Promise<void> => {
    const r = await call<QueueStatus>('Queue', 'SyncNow');
    if (r.ok && r.data) show(r.data);
    else body.prepend(h('p', { class: 'form-error', role: 'alert', id: 'q-sync-error' }, faultMessage(ctx.lang, r.error)));
  };
  host.append(
    body,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', id: 'sync-now', onclick: () => void syncNow() }, ctx.tr('queue.syncNow')),
      h('button', { type: 'button', id: 'q-refresh', onclick: () => void refresh() }, ctx.tr('queue.refresh')),
    ),
  );
  void refresh();
  return host;
}

export function devicesPanel(ctx: Ctx): HTMLElement {
  const host = h('section', { class: 'card', id: 'devices' }, h('h1', {}, ctx.tr('devices.heading')));
  const table = h('table', { class: 'data devices' });
  // Supervisors also see what the device layer reported, for the technician on the phone.
  const supervisor = ctx.session?.officer?.role === 'supervisor';
  const draw = (list: DeviceStatus[]): void => {
    table.replaceChildren(
      ...list.map((d) =>
        h(
          'tr',
          { 'data-device': d.kind, 'data-state': d.state },
          h('th', {}, ctx.tr(`device.${d.kind}` as Key)),
          h('td', { class: `state ${d.state}` }, ctx.tr(`device.${d.state}` as Key)),
          h('td', { class: 'muted' }, d.name),
          supervisor && d.detail
            ? h('td', { class: 'muted small' }, h('details', {}, h('summary', {}, ctx.tr('queue.details')), h('code', { class: 'device-detail' }, d.detail)))
            : null,
        ),
      ),
    );
  };
  let shown: DeviceStatus[] = [];
  const load = async (method: 'Status' | 'Reconnect'): Promise<void> => {
    const r = await call<DeviceStatus[]>('Devices', method);
    if (r.ok && r.data) {
      shown = r.data;
      draw(shown);
    } else table.replaceChildren(h('tr', {}, h('td', { class: 'form-error' }, faultMessage(ctx.lang, r.error))));
  };
  host.append(table, h('button', { type: 'button', id: 'reconnect', onclick: () => void load('Reconnect') }, ctx.tr('devices.reconnect')));
  // devices:changed carries the devices that changed (the reader's watcher sends the reader
  // alone as it is plugged, unplugged or pcscd restarts; Reconnect sends all): merge by kind.
  unsubscribeDevices?.();
  unsubscribeDevices = onEvent<DeviceStatus[]>('devices:changed', (list) => {
    if (!host.isConnected) {
      unsubscribeDevices?.();
      unsubscribeDevices = null;
      return;
    }
    if (shown.length === 0) return;
    shown = shown.map((d) => list.find((n) => n.kind === d.kind) ?? d);
    draw(shown);
  });
  // Start following the card reader (the first call starts the backend's watcher), then list.
  void call('Devices', 'CardState').then(() => load('Status'));
  return host;
}

let unsubscribeDevices: (() => void) | null = null;
