// Step 1: the chip card. The card step follows the reader ("place the card", "card present",
// reader or pcscd gone) from card:state events. The officer types the access key (CAN, or ID
// number with the two dates) or scans the QR code on the card's front with the desk camera and
// confirms what it says; the chip is read with a progress bar, then its photo, data and verdict
// are shown.
import { call, onEvent } from '../../api';
import { field, h, inputValue } from '../../dom';
import { type CardKeyForm, type EnrollmentView, validateCardKey, verdictKey } from '../../wizard';
import type { Key } from '../../i18n';
import { faultMessage } from '../../state';
import type { Ctx } from '../ctx';
import { showErrors, type StepIO } from './io';

/** CardState is desk/app's card presence (Devices.CardState, card:state events). */
export interface CardState {
  state: 'no_service' | 'no_reader' | 'absent' | 'present';
  reader?: string;
}

/** QRView is what the card's QR code said (Enrollment.ScanCardQR), for the officer to confirm. */
export interface QRView {
  idNumber: string;
  fullName: string;
  dateOfBirth: string;
  sex: string;
  dateOfIssue: string;
  /** derived from birth and issue (the QR code has no expiry) */
  dateOfExpiry: string;
}

const presenceKey: Record<CardState['state'], Key> = {
  no_service: 'card.wait.service',
  no_reader: 'card.wait.noReader',
  absent: 'card.wait.place',
  present: 'card.wait.present',
};

/** The reader's last reported state; null until the backend answered. */
let presence: CardState | null = null;
let unsubscribePresence: (() => void) | null = null;

/** The QR code scanned in this enrollment, until the chip is read. */
let scanned: QRView | null = null;
/** A scan in flight. */
let scanning = false;

function drawPresence(ctx: Ctx): void {
  const el = document.getElementById('card-presence');
  if (!el) return;
  if (!presence) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  el.setAttribute('data-state', presence.state);
  el.className = presence.state === 'present' ? 'verdict ok' : presence.state === 'absent' ? 'verdict warn' : 'verdict bad';
  el.textContent = ctx.tr(presenceKey[presence.state]);
}

/** followPresence asks the backend to follow the reader and keeps #card-presence up to date. */
function followPresence(ctx: Ctx): void {
  if (unsubscribePresence) return;
  let events = 0;
  unsubscribePresence = onEvent<CardState>('card:state', (s) => {
    events++;
    presence = s;
    if (!document.getElementById('card-presence')) {
      unsubscribePresence?.();
      unsubscribePresence = null;
      return;
    }
    drawPresence(ctx);
  });
  void call<CardState>('Devices', 'CardState').then((r) => {
    // An event that arrived meanwhile is newer than this answer.
    if (r.ok && r.data && events === 0) {
      presence = r.data;
      drawPresence(ctx);
    }
  });
}

/** The chip read in flight: its progress in percent (enroll:card events), or null when idle. */
let progress: number | null = null;

/** onCardProgress takes an enroll:card event. */
export function onCardProgress(host: HTMLElement | null, percent: number): void {
  progress = percent;
  const bar = host?.querySelector<HTMLProgressElement>('#card-progress');
  if (bar) bar.value = percent;
}

export function cardStep(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement {
  const ids: (keyof CardKeyForm & string)[] = ['can', 'idNumber', 'dateOfBirth', 'dateOfExpiry'];
  const form = h(
    'form',
    { id: 'card-form', novalidate: true },
    h('h2', {}, ctx.tr('card.heading')),
    h('p', { class: 'muted' }, ctx.tr('card.intro')),
    h(
      'div',
      { class: 'row' },
      field('can', ctx.tr('card.can'), 'text', { inputmode: 'numeric', maxlength: '6', 'data-autofocus': true }),
      h('span', { class: 'or' }, ctx.tr('card.or')),
      field('idNumber', ctx.tr('card.idNumber'), 'text', { inputmode: 'numeric', maxlength: '14' }),
      field('dateOfBirth', ctx.tr('card.dateOfBirth'), 'text', { placeholder: 'dd/mm/yyyy' }),
      field('dateOfExpiry', ctx.tr('card.dateOfExpiry'), 'text', { placeholder: 'dd/mm/yyyy' }),
    ),
    h('progress', { id: 'card-progress', max: '100', value: String(progress ?? 0), hidden: true }),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, ctx.tr('card.read')),
      h('button', { type: 'button', id: 'scan-qr', onclick: () => void scan(ctx, form, io) }, ctx.tr(scanned ? 'card.qr.rescan' : 'card.qr.scan')),
    ),
    h('p', { class: 'muted', id: 'qr-status', 'aria-live': 'polite', hidden: !scanning }, ctx.tr('card.qr.scanning')),
    h('p', { class: 'form-error', id: 'qr-error', role: 'alert' }),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const k = Object.fromEntries(ids.map((id) => [id, inputValue(form, id)])) as unknown as CardKeyForm;
    if (!showErrors(form, ctx, ids, validateCardKey(k))) return;
    // A new attempt: the last attempt's error goes away until this one answers.
    startRead(ctx, form, io);
    void io.act('ReadCard', k).finally(() => {
      progress = null;
    });
  });
  if (v.chip) scanned = null;
  followPresence(ctx);
  const presenceLine = h('p', { id: 'card-presence', role: 'status', hidden: true });
  queueMicrotask(() => drawPresence(ctx));
  return h('div', {}, presenceLine, form, scanned && !v.chip ? qrPanel(ctx, scanned, form, io) : null, v.chip ? chipPanel(ctx, v, io) : null);
}

/** startRead shows the progress bar and disables the step's buttons while the chip is read. */
function startRead(ctx: Ctx, form: HTMLElement, io: StepIO): void {
  io.clearMessage();
  const shown = io.host()?.querySelector<HTMLElement>('#wizard-error');
  if (shown) shown.textContent = '';
  const bar = form.querySelector<HTMLProgressElement>('#card-progress');
  if (bar) {
    bar.hidden = false;
    bar.value = 0;
  }
  for (const b of io.host()?.querySelectorAll<HTMLButtonElement>('#card-form button, #qr-confirm button') ?? []) b.disabled = true;
  const button = form.querySelector('button[type=submit]') as HTMLButtonElement | null;
  if (button) button.textContent = ctx.tr('card.reading');
  progress = 0;
}

/** scan reads the card's QR code with the desk camera and shows what it says. */
async function scan(ctx: Ctx, form: HTMLElement, io: StepIO): Promise<void> {
  if (scanning) return;
  scanning = true;
  const status = form.querySelector<HTMLElement>('#qr-status');
  const err = form.querySelector<HTMLElement>('#qr-error');
  const button = form.querySelector<HTMLButtonElement>('#scan-qr');
  if (status) status.hidden = false;
  if (err) err.textContent = '';
  if (button) button.disabled = true;
  const r = await io.call<QRView>('ScanCardQR');
  scanning = false;
  if (r.ok && r.data) {
    scanned = r.data;
    io.redraw();
    return;
  }
  if (status) status.hidden = true;
  if (button) button.disabled = false;
  if (err) err.textContent = faultMessage(ctx.lang, r.error);
}

/** qrPanel shows the QR code's data for the officer to check against the card and the citizen. */
function qrPanel(ctx: Ctx, q: QRView, form: HTMLElement, io: StepIO): HTMLElement {
  const row = (k: Key, val: string, id: string): HTMLElement => h('tr', {}, h('th', {}, ctx.tr(k)), h('td', { id }, val));
  return h(
    'div',
    { class: 'chip', id: 'qr-confirm' },
    h('p', {}, ctx.tr('card.qr.confirm')),
    h(
      'table',
      { class: 'data' },
      row('card.idNumber', q.idNumber, 'qr-id'),
      row('card.fullName', q.fullName, 'qr-name'),
      row('card.dateOfBirth', q.dateOfBirth, 'qr-dob'),
      row('card.sex', q.sex, 'qr-sex'),
      row('card.issued', q.dateOfIssue, 'qr-issued'),
      row('card.qr.expiryDerived', q.dateOfExpiry, 'qr-expires'),
    ),
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'primary',
          id: 'qr-read',
          onclick: () => {
            startRead(ctx, form, io);
            void io.act('ReadCardQR', { idNumber: q.idNumber, dateOfBirth: q.dateOfBirth, dateOfIssue: q.dateOfIssue }).finally(() => {
              progress = null;
            });
          },
        },
        ctx.tr('card.qr.read'),
      ),
    ),
  );
}

function chipPanel(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement | null {
  const c = v.chip;
  if (!c) return null;
  const genuine = verdictKey(c) === 'verdict.genuine';
  const row = (k: Key, val: string): HTMLElement => h('tr', {}, h('th', {}, ctx.tr(k)), h('td', {}, val));
  return h(
    'div',
    { class: 'chip', id: 'chip' },
    h('p', { class: genuine ? 'verdict ok' : 'verdict bad', id: 'verdict' }, ctx.tr(verdictKey(c))),
    h(
      'div',
      { class: 'chip-body' },
      c.photoUrl ? h('img', { src: c.photoUrl, alt: ctx.tr('card.photo'), class: 'chip-photo' }) : null,
      h(
        'table',
        { class: 'data' },
        row('card.idNumber', c.idNumber),
        row('card.fullName', c.fullName),
        row('card.dateOfBirth', c.dateOfBirth),
        row('card.sex', c.sex),
        row('card.nationality', c.nationality),
        row('card.ethnicity', c.ethnicity),
        row('card.origin', c.placeOfOrigin),
        row('card.residence', c.placeOfResidence),
        row('card.issued', c.dateOfIssue),
        row('card.expires', c.dateOfExpiry),
      ),
    ),
    c.minor ? h('p', { class: 'notice' }, ctx.tr('card.minor')) : null,
    genuine && !c.refusal
      ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'card-next', onclick: () => void io.act('Goto', 'face') }, ctx.tr('common.next')))
      : null,
  );
}

