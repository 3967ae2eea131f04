// Step 3: fingerprints. Each required finger is captured from the sensor or declared as an
// exception with a reason; the prompt line follows the sensor's enroll:finger events.
import { h } from '../../dom';
import { type EnrollmentView, REQUIRED_FINGERS } from '../../wizard';
import { isKey, type Key } from '../../i18n';
import type { Ctx } from '../ctx';
import { busy, type StepIO } from './io';

/** fingerName names a finger position (1 right thumb … 10 left little), capitalised or not. */
function fingerName(ctx: Ctx, pos: number, lower = false): string {
  const own = `${lower ? 'fingerlc' : 'finger'}.${pos}`;
  if (isKey(own)) return ctx.tr(own);
  const ops = `ops.finger.${pos}`;
  if (!isKey(ops)) return String(pos);
  const name = ctx.tr(ops);
  return lower ? name : name.charAt(0).toUpperCase() + name.slice(1);
}

/** onFingerPrompt takes an enroll:finger event: which finger to place, which attempt. */
export function onFingerPrompt(host: HTMLElement | null, ctx: Ctx | null, p: { position: number; attempt: number; reason?: string }): void {
  const el = host?.querySelector<HTMLElement>('#finger-prompt');
  if (!el || !ctx) return;
  const which = fingerName(ctx, p.position, true);
  el.textContent = `${ctx.tr('fingers.place', { finger: which, attempt: String(p.attempt) })}${p.reason ? ` ${ctx.tr('fingers.again')}` : ''}`;
}

/** What desk/app adds to the finger step's view: the evidence photo and the policy's errors. */
interface FingerExtras {
  fingerErrors?: { position: number; code: string; message: string }[];
}

/** fingerError says one per-finger policy error (desk/exceptions codes) in the window's language. */
function fingerError(ctx: Ctx, e: { position: number; code: string; message: string }): string {
  const key = `fingererr.${e.code}`;
  const finger = e.position >= 1 && e.position <= 10 ? fingerName(ctx, e.position) : '';
  return isKey(key) ? ctx.tr(key, { finger }) : e.message;
}

export function fingersStep(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement {
  const x = v as EnrollmentView & FingerExtras;
  const errors = x.fingerErrors ?? [];
  // The required fingers, then any other the policy asks for (a thumb when an index finger is
  // declared) or that was captured or declared.
  const shown = [...new Set([...REQUIRED_FINGERS, ...v.fingers.map((f) => f.position), ...errors.map((e) => e.position)])].filter(
    (p) => p >= 1 && p <= 10,
  );
  const rows = shown.map((pos) => {
    const got = v.fingers.find((x) => x.position === pos);
    const evidence = got?.evidenceUrl;
    const status = got?.exception
      ? `${ctx.tr('fingers.exception')}: ${ctx.tr(`fingers.reason.${got.exception}` as Key)}`
      : got?.quality !== undefined
        ? ctx.tr('fingers.quality', { quality: String(got.quality) })
        : ctx.tr('review.none');
    const reason = h(
      'select',
      { id: `reason-${pos}`, 'aria-label': ctx.tr('fingers.exception') },
      ...(['missing', 'bandaged', 'unreadable'] as const).map((r) => h('option', { value: r }, ctx.tr(`fingers.reason.${r}`))),
    );
    return h(
      'tr',
      { 'data-finger': String(pos) },
      h('th', {}, fingerName(ctx, pos)),
      h(
        'td',
        { class: 'finger-status' },
        status,
        evidence ? h('img', { src: evidence, class: 'evidence', alt: ctx.tr('fingers.evidence'), title: ctx.tr('fingers.evidence'), style: 'display: block; width: 96px; margin-top: 0.25rem' }) : null,
        got?.imageUrl
          ? h('img', { src: got.imageUrl, class: 'finger-image', id: `finger-image-${pos}`, alt: ctx.tr('fingers.image'), title: ctx.tr('fingers.image'), style: 'display: block; width: 96px; margin-top: 0.25rem' })
          : null,
      ),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: (e: Event) => {
              busy(io, ctx, e.target as HTMLButtonElement, 'fingers.place', { finger: fingerName(ctx, pos, true), attempt: '1' });
              void io.act('CaptureFinger', pos);
            },
          },
          ctx.tr('fingers.capture'),
        ),
      ),
      h(
        'td',
        {},
        h('label', { class: 'inline' }, ctx.tr('fingers.exception'), reason),
        h('button', { type: 'button', onclick: () => void io.act('DeclareFingerException', pos, reason.value) }, ctx.tr('fingers.declare')),
      ),
    );
  });
  return h(
    'div',
    { id: 'fingers-step' },
    h('h2', {}, ctx.tr('fingers.heading')),
    h('p', { class: 'muted' }, ctx.tr('fingers.intro')),
    h('p', { class: 'notice', id: 'finger-prompt', 'aria-live': 'polite', hidden: true }),
    h('table', { class: 'data fingers' }, ...rows),
    h('p', { class: 'muted small' }, ctx.tr('fingers.evidenceHint')),
    errors.length
      ? h(
          'div',
          { class: 'problems', id: 'finger-errors' },
          h('p', {}, ctx.tr('fingers.policyErrors')),
          h('ul', {}, ...errors.map((e) => h('li', { 'data-position': String(e.position), 'data-code': e.code }, fingerError(ctx, e)))),
        )
      : null,
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'fingers-done', onclick: () => void io.act('FingersDone') }, ctx.tr('fingers.done'))),
  );
}

