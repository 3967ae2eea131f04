// The supervisor's thresholds-and-devices screen: the desk's local quality thresholds
// (thresholds.*, validated and audited by the backend; the face step and the finger policy read
// them at their next use) and the device preferences (camera, sensor, reader; applied from the
// next start) with each device's status and a test button. Every change asks for the PIN again.
// Backend: desk/app.DeskSettings. Officers do not get the nav entry, and the backend refuses them.
import { call, type Fault, type Response } from '../api';
import { field, h, inputValue } from '../dom';
import { formatTime } from '../format';
import { type Key, isKey } from '../i18n';
import { faultMessage } from '../state';
import type { Ctx } from './ctx';

export type SettingsView = 'settings';

interface Threshold {
  key: string;
  value: number;
}

interface DeviceConfig {
  cameraSource: string;
  cameraWidth: number;
  cameraHeight: number;
  sensorPort: string;
  sensorBaud: number;
  readerName: string;
}

interface DeviceStatus {
  kind: string;
  state: string;
  name: string;
  detail: string;
}

interface Screen {
  thresholds: Threshold[];
  devices: DeviceConfig;
  status: DeviceStatus[];
}

const DEVICE_FIELDS: { id: keyof DeviceConfig; label: Key; numeric: boolean }[] = [
  { id: 'cameraSource', label: 'devices.camera.source', numeric: false },
  { id: 'cameraWidth', label: 'devices.camera.width', numeric: true },
  { id: 'cameraHeight', label: 'devices.camera.height', numeric: true },
  { id: 'sensorPort', label: 'devices.sensor.port', numeric: false },
  { id: 'sensorBaud', label: 'devices.sensor.baud', numeric: true },
  { id: 'readerName', label: 'devices.reader.name', numeric: false },
];

/** thresholdId is the input id of a threshold key ("thresholds.face_min_quality" → "th-face_min_quality"). */
export function thresholdId(key: string): string {
  return `th-${key.replace(/^thresholds\./, '')}`;
}

/** changedThresholds returns the typed values that differ from the stored ones (decimal comma allowed). */
export function changedThresholds(stored: readonly Threshold[], typed: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of stored) {
    const v = (typed[t.key] ?? '').trim();
    if (v === '') continue;
    const n = Number(v.replace(',', '.'));
    if (Number.isNaN(n) || n !== t.value) out[t.key] = v;
  }
  return out;
}

/** parseDevices reads the device form; blank numbers are 0 (the driver's default). */
export function parseDevices(typed: Record<keyof DeviceConfig, string>): DeviceConfig {
  const num = (s: string): number => {
    const n = Number(s.trim());
    return s.trim() === '' ? 0 : Number.isFinite(n) ? Math.trunc(n) : -1;
  };
  return {
    cameraSource: typed.cameraSource.trim(),
    cameraWidth: num(typed.cameraWidth),
    cameraHeight: num(typed.cameraHeight),
    sensorPort: typed.sensorPort.trim(),
    sensorBaud: num(typed.sensorBaud),
    readerName: typed.readerName.trim(),
  };
}

export function settingsScreen(ctx: Ctx): HTMLElement {
  const host = h('section', { class: 'card wide', id: 'settings' }, h('h1', {}, ctx.tr('settings.heading')), h('p', { class: 'muted' }, ctx.tr('settings.intro')));
  const body = h('div', {}, h('p', { class: 'muted' }, ctx.tr('common.loading')));
  host.append(body);
  const draw = (s: Screen, after?: () => void): void => {
    body.replaceChildren(thresholdsForm(ctx, s, draw), devicesSection(ctx, s, draw));
    after?.();
  };
  void call<Screen>('DeskSettings', 'View').then((r) => {
    if (r.ok && r.data) draw(r.data);
    else body.replaceChildren(h('p', { class: 'form-error', role: 'alert', id: 'settings-error' }, faultMessage(ctx.lang, r.error)));
  });
  return host;
}

type Redraw = (s: Screen, after?: () => void) => void;

/** showFault puts a fault under its field when the form has one, else in the form's status line. */
function showFault(ctx: Ctx, form: HTMLElement, status: HTMLElement, f: Fault | undefined, fieldId: (field: string) => string): void {
  for (const e of form.querySelectorAll('.field-error')) e.textContent = '';
  const target = f?.params?.field ? form.querySelector<HTMLElement>(`#${fieldId(f.params.field)}-error`) : null;
  const msg = faultMessage(ctx.lang, f);
  if (target) {
    target.textContent = msg;
    status.textContent = '';
  } else status.textContent = msg;
}

function thresholdsForm(ctx: Ctx, s: Screen, redraw: Redraw): HTMLElement {
  const status = h('p', { class: 'form-error', role: 'alert', id: 'thresholds-status' });
  const form = h(
    'form',
    { id: 'thresholds-form', novalidate: true },
    ...s.thresholds.map((t) =>
      field(thresholdId(t.key), isKey(t.key) ? ctx.tr(t.key) : t.key, 'text', { value: String(t.value), inputmode: 'decimal', 'data-key': t.key }),
    ),
    field('th-pin', ctx.tr('settings.pin'), 'password', { inputmode: 'numeric' }),
    h('button', { type: 'submit', class: 'primary', id: 'thresholds-save' }, ctx.tr('settings.save')),
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const typed: Record<string, string> = {};
    for (const t of s.thresholds) typed[t.key] = inputValue(form, thresholdId(t.key));
    const values = changedThresholds(s.thresholds, typed);
    if (Object.keys(values).length === 0) {
      status.textContent = ctx.tr('settings.unchanged');
      return;
    }
    void call<Screen>('DeskSettings', 'SetThresholds', inputValue(form, 'th-pin'), values).then((r: Response<Screen>) => {
      if (r.ok && r.data) {
        redraw(r.data, () => {
          const st = document.getElementById('thresholds-status');
          if (st) {
            st.className = 'verdict ok';
            st.textContent = ctx.tr('settings.thresholds.saved');
          }
        });
      } else showFault(ctx, form, status, r.error, (f) => (f === 'pin' ? 'th-pin' : thresholdId(f)));
    });
  });
  return h('section', { id: 'settings-thresholds' }, h('h2', {}, ctx.tr('settings.thresholds.heading')), form);
}

function devicesSection(ctx: Ctx, s: Screen, redraw: Redraw): HTMLElement {
  const rows = s.status.map((d) => {
    const tested = h('span', { class: 'muted small test-result' });
    return h(
      'tr',
      { 'data-device': d.kind, 'data-state': d.state },
      h('th', {}, isKey(`device.${d.kind}`) ? ctx.tr(`device.${d.kind}` as Key) : d.kind),
      h('td', { class: `state ${d.state}` }, isKey(`device.${d.state}`) ? ctx.tr(`device.${d.state}` as Key) : d.state),
      h('td', { class: 'muted' }, d.name ? ctx.tr('settings.devices.current', { name: d.name }) : ''),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'test-device',
            'data-test': d.kind,
            onclick: (e: Event) => {
              const btn = e.currentTarget as HTMLButtonElement;
              btn.disabled = true;
              void call<DeviceStatus>('DeskSettings', 'TestDevice', d.kind).then((r) => {
                btn.disabled = false;
                const row = btn.closest('tr');
                if (r.ok && r.data && row) {
                  row.setAttribute('data-state', r.data.state);
                  const cell = row.querySelector<HTMLElement>('td.state');
                  if (cell) {
                    cell.className = `state ${r.data.state}`;
                    cell.textContent = isKey(`device.${r.data.state}`) ? ctx.tr(`device.${r.data.state}` as Key) : r.data.state;
                  }
                  tested.textContent = ctx.tr('settings.devices.tested', { time: formatTime(new Date()) });
                } else tested.textContent = faultMessage(ctx.lang, r.error);
              });
            },
          },
          ctx.tr('settings.devices.test'),
        ),
        ' ',
        tested,
      ),
    );
  });
  const status = h('p', { class: 'form-error', role: 'alert', id: 'devices-status' });
  const form = h(
    'form',
    { id: 'devices-form', novalidate: true },
    ...DEVICE_FIELDS.map((f) => {
      const v = s.devices[f.id];
      return field(`dev-${f.id}`, ctx.tr(f.label), 'text', { value: f.numeric ? (v ? String(v) : '') : String(v), inputmode: f.numeric ? 'numeric' : undefined });
    }),
    field('dev-pin', ctx.tr('settings.pin'), 'password', { inputmode: 'numeric' }),
    h('button', { type: 'submit', id: 'devices-save' }, ctx.tr('settings.save')),
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const typed = Object.fromEntries(DEVICE_FIELDS.map((f) => [f.id, inputValue(form, `dev-${f.id}`)])) as Record<keyof DeviceConfig, string>;
    void call<Screen>('DeskSettings', 'SetDevices', inputValue(form, 'dev-pin'), parseDevices(typed)).then((r) => {
      if (r.ok && r.data) {
        redraw(r.data, () => {
          const st = document.getElementById('devices-status');
          if (st) {
            st.className = 'verdict ok';
            st.textContent = ctx.tr('settings.devices.saved');
          }
        });
      } else showFault(ctx, form, status, r.error, (f) => (f === 'pin' ? 'dev-pin' : `dev-${f}`));
    });
  });
  return h('section', { id: 'settings-devices' }, h('h2', {}, ctx.tr('settings.devices.heading')), h('table', { class: 'data devices' }, ...rows), form);
}
