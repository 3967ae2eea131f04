// Desk operations: the freeze state (why new enrollments are stopped and what lifts it), the
// finger-count policy and exception reasons, the supervisor's end-of-day review (pending records
// per officer, approve or reject with a reason after the PIN again), the export to a USB drive
// with HQ's receipt, the device timeouts and the audit log's sync. Backend: desk/app.Ops.
import { call, type Fault, type Response } from '../api';
import { field, h, inputValue } from '../dom';
import { formatDate, formatTime } from '../format';
import { isKey, type Key } from '../i18n';
import { faultMessage } from '../state';
import type { Ctx } from './ctx';

export type OpsView = 'ops';

interface FreezeReason {
  code: string;
  value: string;
  limit: string;
}

interface Overview {
  unlocked: boolean;
  freeze: { frozen: boolean; reasons: FreezeReason[]; awaiting_review: number; awaiting_sync: number; last_synced: string };
  fingers: { minFingers: number; preference: number[][]; allowNone: boolean; minQuality: number; reasons: string[]; exceptionReview: boolean };
  timeouts: { key: string; value: string }[];
  audit: { running: boolean; registry: number; local: number; error?: string; tail?: boolean };
}

interface Item {
  item_id: string;
  officer_id: string;
  state: string;
  exceptions: number;
  flags: string[];
  submitted_at: string;
  reason_code?: string;
  seq?: number;
}

interface DayCount {
  officer_id: string;
  submitted: number;
  pending: number;
  released: number;
  rejected: number;
  exceptions: number;
}

interface ReviewView {
  day: string;
  pending: Item[];
  decided: Item[];
  counts: DayCount[];
  reasons: string[];
}

interface Detail {
  item: Item;
  citizenId: string;
  face: { decision: string };
  portrait?: string;
  exceptions: { position: number; reason: string; photo?: string }[];
}

interface ItemResult {
  itemId: string;
  seq?: number;
  code?: string;
}

/** tk translates a key built at run time, or shows the raw code when the table lacks it. */
function tk(ctx: Ctx, key: string, params?: Record<string, string>): string {
  return isKey(key) ? ctx.tr(key, params) : key;
}

function finger(ctx: Ctx, pos: number): string {
  return tk(ctx, `ops.finger.${pos}`);
}

function isoTime(s: string): string {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) || d.getFullYear() < 2000 ? '' : `${formatTime(d)} ${formatDate(d)}`;
}

function freezePanel(ctx: Ctx, ov: Overview): HTMLElement {
  const f = ov.freeze;
  const last = isoTime(f.last_synced) || ctx.tr('ops.freeze.never');
  return h(
    'section',
    { class: 'card', id: 'ops-freeze' },
    h('h2', {}, ctx.tr('ops.freeze.heading')),
    h('p', { class: f.frozen ? 'verdict bad' : 'verdict ok', id: 'freeze-state' }, ctx.tr(f.frozen ? 'ops.freeze.frozen' : 'ops.freeze.ok')),
    h('p', { class: 'muted' }, ctx.tr('ops.freeze.figures', { review: String(f.awaiting_review), sync: String(f.awaiting_sync), last })),
    f.reasons.length === 0
      ? null
      : h(
          'table',
          { class: 'data', id: 'freeze-reasons' },
          h('tr', {}, h('th', {}, ctx.tr('ops.freeze.why')), h('th', {}, ctx.tr('ops.freeze.fix'))),
          ...f.reasons.map((r) =>
            h(
              'tr',
              { 'data-code': r.code },
              h('td', {}, tk(ctx, `freeze.${r.code}`, { value: r.value, limit: r.limit })),
              h('td', {}, tk(ctx, `freeze.${r.code}.fix`)),
            ),
          ),
        ),
  );
}

function fingersPanel(ctx: Ctx, ov: Overview): HTMLElement {
  const p = ov.fingers;
  const order = p.preference.map((g) => g.map((pos) => finger(ctx, pos)).join(ctx.tr('ops.or'))).join(', ');
  const reasons = p.reasons.map((r) => tk(ctx, `fingers.reason.${r}`)).join(', ');
  return h(
    'section',
    { class: 'card', id: 'ops-fingers' },
    h('h2', {}, ctx.tr('ops.fingers.heading')),
    h('p', { id: 'finger-policy' }, ctx.tr('ops.fingers.policy', { n: String(p.minFingers), quality: String(p.minQuality), order })),
    h('p', {}, ctx.tr('ops.fingers.next')),
    p.allowNone ? h('p', {}, ctx.tr('ops.fingers.allowNone')) : null,
    p.exceptionReview ? h('p', {}, ctx.tr('ops.fingers.review')) : null,
    h('p', { class: 'muted' }, ctx.tr('ops.fingers.reasons', { reasons })),
  );
}

function timeoutsPanel(ctx: Ctx, ov: Overview, supervisor: boolean, redraw: (after?: () => void) => void): HTMLElement {
  const status = h('p', { class: 'form-error', role: 'alert', id: 'timeouts-status' });
  const rows = ov.timeouts.map((t) =>
    h(
      'tr',
      { 'data-key': t.key },
      h('td', {}, tk(ctx, t.key)),
      h('td', {}, supervisor ? h('input', { type: 'text', value: t.value, 'data-value': t.value, 'aria-label': tk(ctx, t.key), size: '8', spellcheck: 'false' }) : t.value),
    ),
  );
  const form = h('form', { id: 'timeouts-form', novalidate: true }, h('table', { class: 'data' }, ...rows));
  if (supervisor) {
    form.append(h('p', { class: 'muted small' }, ctx.tr('ops.timeouts.hint')), h('button', { type: 'submit', id: 'timeouts-save' }, ctx.tr('ops.timeouts.save')), status);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const changed: Record<string, string> = {};
      for (const input of form.querySelectorAll<HTMLInputElement>('input[data-value]')) {
        const key = input.closest('tr')?.getAttribute('data-key');
        if (key && input.value.trim() !== input.dataset.value) changed[key] = input.value.trim();
      }
      void call<Overview>('Ops', 'SetTimeouts', changed).then((r) => {
        if (!r.ok) {
          status.className = 'form-error';
          status.textContent = faultMessage(ctx.lang, r.error);
          return;
        }
        // The redraw replaces this panel; say it on the new one.
        redraw(() => {
          const st = document.getElementById('timeouts-status');
          if (st) {
            st.className = 'verdict ok';
            st.textContent = ctx.tr('ops.timeouts.saved');
          }
        });
      });
    });
  }
  return h('section', { class: 'card', id: 'ops-timeouts' }, h('h2', {}, ctx.tr('ops.timeouts.heading')), form);
}

function auditPanel(ctx: Ctx, ov: Overview): HTMLElement {
  const a = ov.audit;
  const text = a.tail ? ctx.tr('ops.audit.tail') : a.running ? ctx.tr('ops.audit.state', { registry: String(a.registry), local: String(a.local) }) : ctx.tr('ops.audit.off');
  return h('section', { class: 'card', id: 'ops-audit' }, h('h2', {}, ctx.tr('ops.audit.heading')), h('p', { class: a.tail ? 'verdict bad' : 'muted', id: 'audit-state' }, text));
}

function reviewPanel(ctx: Ctx, locked: boolean): HTMLElement {
  const status = h('p', { class: 'form-error', role: 'alert', id: 'review-status' });
  const body = h('div', { id: 'review-body' });
  const detail = h('div', { id: 'review-detail' });
  const dayInput = h('input', { id: 'review-day', type: 'date', 'aria-label': ctx.tr('ops.review.day') });
  const say = (msg: string, good = false): void => {
    status.textContent = msg;
    status.className = good ? 'verdict ok' : 'form-error';
  };
  const load = (): void => {
    void call<ReviewView>('Ops', 'Review', dayInput.value).then((r) => show(r));
  };
  const show = (r: Response<ReviewView>): void => {
    if (!r.ok || !r.data) {
      say(faultMessage(ctx.lang, r.error));
      return;
    }
    const v = r.data;
    if (!dayInput.value) dayInput.value = v.day;
    const reasonSelect = h(
      'select',
      { id: 'reject-reason', 'aria-label': ctx.tr('ops.review.reason') },
      h('option', { value: '' }, '—'),
      ...v.reasons.map((c) => h('option', { value: c }, tk(ctx, `review.reason.${c}`))),
    );
    const pending = v.pending.length === 0
      ? h('p', { class: 'empty', id: 'review-empty' }, ctx.tr('ops.review.empty'))
      : h(
          'table',
          { class: 'data', id: 'review-pending' },
          h('tr', {}, h('th', {}, ctx.tr('ops.review.select')), h('th', {}, ctx.tr('ops.review.officer')), h('th', {}, ctx.tr('ops.review.submitted')), h('th', {}, ctx.tr('ops.review.why')), h('th', {})),
          ...v.pending.map((it) =>
            h(
              'tr',
              { 'data-item': it.item_id, 'data-officer': it.officer_id },
              h('td', {}, h('input', { type: 'checkbox', class: 'pick', value: it.item_id, 'aria-label': `${ctx.tr('ops.review.select')} ${it.officer_id}` })),
              h('td', {}, it.officer_id),
              h('td', {}, isoTime(it.submitted_at)),
              h(
                'td',
                {},
                [it.exceptions > 0 ? ctx.tr('ops.review.exceptions', { n: String(it.exceptions) }) : '', ...it.flags.map((f) => ctx.tr('ops.review.flag', { flag: f }))].filter(Boolean).join('; '),
              ),
              h('td', {}, h('button', { type: 'button', class: 'open', onclick: () => void openItem(it.item_id) }, ctx.tr('ops.review.open'))),
            ),
          ),
        );
    const pick = (): string[] => [...body.querySelectorAll<HTMLInputElement>('input.pick:checked')].map((c) => c.value);
    const decide = h(
      'form',
      { id: 'review-decide', novalidate: true },
      field('review-pin', ctx.tr('ops.review.pin'), 'password', { inputmode: 'numeric', maxlength: '12' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', id: 'review-approve' }, ctx.tr('ops.review.approve'))),
      h('label', { class: 'inline' }, ctx.tr('ops.review.reason'), reasonSelect),
      field('reject-note', ctx.tr('ops.review.note'), 'text', { maxlength: '500' }),
      h('button', { type: 'button', id: 'review-reject', onclick: () => void reject() }, ctx.tr('ops.review.reject')),
    );
    decide.addEventListener('submit', (e) => {
      e.preventDefault();
      const ids = pick();
      if (ids.length === 0) {
        say(ctx.tr('ops.review.noneSelected'));
        return;
      }
      void call<ItemResult[]>('Ops', 'ReviewApprove', inputValue(decide, 'review-pin'), ids).then((res) => {
        if (!res.ok || !res.data) {
          say(faultMessage(ctx.lang, res.error));
          return;
        }
        const failed = res.data.filter((x) => x.code);
        const done = res.data.length - failed.length;
        say(
          [ctx.tr('ops.review.approved', { n: String(done) }), ...failed.map((x) => ctx.tr('ops.review.itemFailed', { item: x.itemId.slice(-6), error: faultMessage(ctx.lang, { code: x.code ?? 'internal', message: '' }) }))].join(' '),
          failed.length === 0,
        );
        load();
      });
    });
    const reject = async (): Promise<void> => {
      const ids = pick();
      if (ids.length !== 1) {
        say(ctx.tr('ops.review.noneSelected'));
        return;
      }
      const r = await call<null>('Ops', 'ReviewReject', inputValue(decide, 'review-pin'), ids[0], reasonSelect.value, inputValue(decide, 'reject-note'));
      if (!r.ok) {
        say(faultMessage(ctx.lang, r.error));
        return;
      }
      say(ctx.tr('ops.review.rejected'), true);
      load();
    };
    const counts = h(
      'table',
      { class: 'data', id: 'review-counts' },
      h('tr', {}, ...(['ops.review.officer', 'ops.review.col.submitted', 'ops.review.col.pending', 'ops.review.col.released', 'ops.review.col.rejected', 'ops.review.col.exceptions'] as Key[]).map((k) => h('th', {}, ctx.tr(k)))),
      ...v.counts.map((c) =>
        h('tr', { 'data-officer': c.officer_id }, h('td', {}, c.officer_id), h('td', {}, String(c.submitted)), h('td', {}, String(c.pending)), h('td', {}, String(c.released)), h('td', {}, String(c.rejected)), h('td', {}, String(c.exceptions))),
      ),
    );
    const decided = h(
      'ul',
      { id: 'review-decided' },
      ...v.decided.map((it) =>
        h(
          'li',
          { 'data-item': it.item_id, 'data-state': it.state },
          `${it.officer_id} · ${isoTime(it.submitted_at)} · `,
          it.state === 'released' ? ctx.tr('ops.review.state.released', { seq: String(it.seq ?? '') }) : ctx.tr('ops.review.state.rejected', { reason: tk(ctx, `review.reason.${it.reason_code ?? ''}`) }),
        ),
      ),
    );
    body.replaceChildren(
      h('h3', {}, ctx.tr('ops.review.pending', { n: String(v.pending.length) })),
      pending,
      locked ? h('p', { class: 'muted' }, ctx.tr('ops.locked')) : decide,
      h('h3', {}, ctx.tr('ops.review.counts', { day: formatDate(new Date(`${v.day}T12:00:00+07:00`)) })),
      counts,
      h('h3', { hidden: v.decided.length === 0 }, ctx.tr('ops.review.decided')),
      decided,
    );
  };
  const openItem = async (id: string): Promise<void> => {
    const r = await call<Detail>('Ops', 'ReviewOpen', id);
    if (!r.ok || !r.data) {
      say(faultMessage(ctx.lang, r.error));
      return;
    }
    const d = r.data;
    detail.replaceChildren(
      h(
        'div',
        { class: 'card', id: 'review-record', 'data-item': id },
        h('h3', {}, ctx.tr('ops.review.detail', { id: d.citizenId })),
        d.portrait ? h('img', { src: d.portrait, alt: ctx.tr('ops.review.detail', { id: d.citizenId }), class: 'portrait' }) : null,
        h('p', {}, ctx.tr('ops.review.face', { decision: tk(ctx, `ops.review.faceDecision.${d.face.decision || 'none'}`) })),
        d.exceptions.length === 0
          ? h('p', { class: 'muted' }, ctx.tr('ops.review.noException'))
          : h(
              'ul',
              { id: 'review-exceptions' },
              ...d.exceptions.map((x) =>
                h(
                  'li',
                  { 'data-position': String(x.position) },
                  ctx.tr('ops.review.exception', { finger: finger(ctx, x.position), reason: tk(ctx, `fingers.reason.${x.reason}`) }),
                  x.photo ? h('img', { src: x.photo, alt: finger(ctx, x.position), class: 'evidence' }) : null,
                ),
              ),
            ),
      ),
    );
  };
  const show0 = h('button', { type: 'button', id: 'review-show', onclick: () => load() }, ctx.tr('ops.review.show'));
  load();
  return h('section', { class: 'card wide', id: 'ops-review' }, h('h2', {}, ctx.tr('ops.review.heading')), h('label', { class: 'inline' }, ctx.tr('ops.review.day'), dayInput), show0, status, body, detail);
}

function exportPanel(ctx: Ctx, locked: boolean): HTMLElement {
  const status = h('p', { class: 'form-error', role: 'alert', id: 'export-status' });
  const say = (msg: string, good: boolean): void => {
    status.textContent = msg;
    status.className = good ? 'verdict ok' : 'form-error';
  };
  const fault = (f: Fault | undefined): void => say(faultMessage(ctx.lang, f), false);
  const form = h(
    'form',
    { id: 'export-form', novalidate: true },
    field('export-dir', ctx.tr('ops.export.dir'), 'text', { list: 'export-drives', spellcheck: 'false' }),
    h('datalist', { id: 'export-drives' }),
    h('button', { type: 'submit', class: 'primary', id: 'export-submit' }, ctx.tr('ops.export.submit')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void call<{ files: string[]; from: number; to: number; records: number }>('Ops', 'Export', inputValue(form, 'export-dir')).then((r) => {
      if (!r.ok || !r.data) return fault(r.error);
      say(ctx.tr('ops.export.done', { records: String(r.data.records), from: String(r.data.from), to: String(r.data.to), files: String(r.data.files.length) }), true);
    });
  });
  const receipt = h(
    'form',
    { id: 'receipt-form', novalidate: true },
    field('receipt-path', ctx.tr('ops.export.receipt'), 'text', { spellcheck: 'false' }),
    h('button', { type: 'submit', id: 'receipt-submit' }, ctx.tr('ops.export.receiptSubmit')),
  );
  receipt.addEventListener('submit', (e) => {
    e.preventDefault();
    void call<{ seq: number; superseded: boolean }>('Ops', 'ApplyReceipt', inputValue(receipt, 'receipt-path')).then((r) => {
      if (!r.ok || !r.data) return fault(r.error);
      say(ctx.tr(r.data.superseded ? 'ops.export.receiptOld' : 'ops.export.receiptDone', { seq: String(r.data.seq) }), true);
    });
  });
  void call<string[]>('Ops', 'Drives').then((r) => {
    const list = form.querySelector('#export-drives');
    if (r.ok && r.data && list) list.replaceChildren(...r.data.map((d) => h('option', { value: d })));
  });
  return h(
    'section',
    { class: 'card', id: 'ops-export' },
    h('h2', {}, ctx.tr('ops.export.heading')),
    h('p', { class: 'muted' }, ctx.tr('ops.export.intro')),
    locked ? h('p', { class: 'muted' }, ctx.tr('ops.locked')) : null,
    form,
    receipt,
    status,
  );
}

/** opsScreen is the desk-operations screen; the review part is for supervisors only. */
export function opsScreen(ctx: Ctx): HTMLElement {
  const heading = h('h1', {}, ctx.tr('ops.heading'));
  const status = h('p', { class: 'form-error', role: 'alert', id: 'ops-status' });
  const root = h('section', { class: 'ops', id: 'ops' }, heading, status);
  const draw = (after?: () => void): void => {
    void call<Overview>('Ops', 'Overview').then((r) => {
      if (!r.ok || !r.data) {
        status.textContent = faultMessage(ctx.lang, r.error);
        return;
      }
      const ov = r.data;
      const supervisor = ctx.session?.officer?.role === 'supervisor';
      const parts: (HTMLElement | null)[] = [
        heading,
        status,
        freezePanel(ctx, ov),
        supervisor ? reviewPanel(ctx, !ov.unlocked) : null,
        fingersPanel(ctx, ov),
        exportPanel(ctx, !ov.unlocked),
        timeoutsPanel(ctx, ov, supervisor, draw),
        auditPanel(ctx, ov),
      ];
      root.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
      after?.();
    });
  };
  draw();
  return root;
}

/**
 * freezeBanner is the home screen's notice beside "new enrollment": empty while the desk takes
 * enrollments, else why it is stopped and what lifts each reason (desk/freeze via Ops.Overview).
 */
export function freezeBanner(ctx: Ctx): HTMLElement {
  const box = h('div', { id: 'freeze-banner' });
  void call<Overview>('Ops', 'Overview').then((r) => {
    const f = r.ok ? r.data?.freeze : undefined;
    if (!f?.frozen) return;
    box.replaceChildren(
      h('p', { class: 'verdict bad', id: 'freeze-banner-state' }, ctx.tr('home.frozen')),
      h(
        'ul',
        { id: 'freeze-banner-reasons' },
        ...f.reasons.map((x) =>
          h('li', { 'data-code': x.code }, tk(ctx, `freeze.${x.code}`, { value: x.value, limit: x.limit }), ' ', tk(ctx, `freeze.${x.code}.fix`)),
        ),
      ),
    );
  });
  return box;
}
