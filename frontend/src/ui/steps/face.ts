// Step 2: the live face. The camera captures while the citizen follows the liveness
// challenge; the portrait, the liveness result and the match against the chip photo are shown.
import { onEvent } from '../../api';
import { h } from '../../dom';
import { type EnrollmentView, type FacePrompt, faceOutcome, livenessPromptKeys } from '../../wizard';
import { type Key, isKey } from '../../i18n';
import { type FacePreview, type Indicator, boxPercent, changedRows, indicators, staleRows, summaryKey } from '../../facepreview';
import type { Ctx } from '../ctx';
import type { StepIO } from './io';

/**
 * The face capture in flight: its challenge prompt (from enroll:face) and the newest live
 * preview (enroll:face-preview), or null when idle. The preview lives only here, in memory, for
 * the length of the capture.
 */
let faceCapture: { prompt: FacePrompt | null; preview: FacePreview | null } | null = null;

/** Rows of the check list as drawn: name → Indicator.sig, so a preview redraws only what changed. */
const drawnRows = new Map<string, string>();

/** onFacePreview takes an enroll:face-preview event and updates the preview in place. */
export function onFacePreview(host: HTMLElement | null, ctx: Ctx | null, p: FacePreview): void {
  if (!faceCapture || !ctx) return;
  faceCapture.preview = p;
  const el = host?.querySelector<HTMLElement>('#face-preview');
  if (el) updatePreview(el, ctx, p);
}

/** livePreview is the preview's frame: the image, the face box over it and the check list. */
function livePreview(ctx: Ctx): HTMLElement {
  drawnRows.clear();
  const el = h(
    'div',
    { class: 'face-preview', id: 'face-preview', 'data-phase': '' },
    h('h3', {}, ctx.tr('face.preview.heading'), ' ', h('span', { class: 'muted', id: 'face-preview-phase' })),
    h(
      'div',
      { class: 'preview-frame' },
      h('img', { id: 'face-preview-img', alt: ctx.tr('face.preview.alt'), hidden: true }),
      h('div', { class: 'face-box', id: 'face-box', hidden: true }),
      h('p', { class: 'muted preview-waiting', id: 'face-preview-waiting' }, ctx.tr('face.preview.waiting')),
    ),
    h('p', { class: 'preview-summary', id: 'face-preview-summary', 'aria-live': 'polite' }),
    h('h4', {}, ctx.tr('face.preview.checks')),
    h('ul', { class: 'checks', id: 'face-checks' }),
  );
  const p = faceCapture?.preview;
  if (p) updatePreview(el, ctx, p);
  return el;
}

/** updatePreview applies one preview to the drawn element: image, box, summary, changed rows. */
function updatePreview(el: HTMLElement, ctx: Ctx, p: FacePreview): void {
  el.dataset.phase = p.phase;
  el.dataset.seq = String(p.seq);
  const phase = el.querySelector<HTMLElement>('#face-preview-phase');
  const phaseText = ctx.tr(p.phase === 'liveness' ? 'face.preview.phase.liveness' : 'face.preview.phase.capture');
  if (phase && phase.textContent !== phaseText) phase.textContent = phaseText;
  const img = el.querySelector<HTMLImageElement>('#face-preview-img');
  if (img) {
    img.src = p.image;
    img.width = p.width;
    img.height = p.height;
    img.hidden = false;
  }
  el.querySelector('#face-preview-waiting')?.remove();
  const box = el.querySelector<HTMLElement>('#face-box');
  const at = boxPercent(p);
  if (box) {
    box.hidden = at === null;
    if (at) Object.assign(box.style, at);
    box.classList.toggle('ok', p.pass);
  }
  const summary = el.querySelector<HTMLElement>('#face-preview-summary');
  if (summary) {
    const k = summaryKey(p);
    summary.textContent = ctx.tr(k);
    summary.className = `preview-summary ${k === 'face.preview.pass' ? 'ok' : k === 'face.preview.fail' ? 'bad' : ''}`;
  }
  const list = el.querySelector<HTMLElement>('#face-checks');
  if (!list) return;
  const next = indicators(p);
  for (const name of staleRows(drawnRows, next)) {
    list.querySelector(`li[data-check="${name}"]`)?.remove();
    drawnRows.delete(name);
  }
  const changed = new Set(changedRows(drawnRows, next));
  let prev: Element | null = null;
  for (const ind of next) {
    let li = list.querySelector<HTMLElement>(`li[data-check="${ind.name}"]`);
    if (!li) li = checkRow(ctx, ind.name);
    if (changed.has(ind.name)) {
      fillRow(ctx, li, ind);
      drawnRows.set(ind.name, ind.sig);
    }
    // Keep the canonical order without touching rows already in place.
    const want: Element | null = prev ? prev.nextElementSibling : list.firstElementChild;
    if (want !== li) list.insertBefore(li, want);
    prev = li;
  }
}

function checkRow(ctx: Ctx, name: string): HTMLElement {
  const k = `face.check.${name}`;
  return h(
    'li',
    { 'data-check': name },
    h('span', { class: 'check-name' }, isKey(k) ? ctx.tr(k) : name),
    h('span', { class: 'check-value' }),
    h('span', { class: 'check-bound muted' }),
    h('span', { class: 'check-status' }),
  );
}

function fillRow(ctx: Ctx, li: HTMLElement, ind: Indicator): void {
  li.dataset.status = ind.status;
  li.className = `check ${ind.status}`;
  const set = (sel: string, text: string): void => {
    const s = li.querySelector<HTMLElement>(sel);
    if (s && s.textContent !== text) s.textContent = text;
  };
  set('.check-value', ind.value);
  set('.check-bound', ind.bound ? ctx.tr(ind.bound.key, ind.bound.params) : '');
  set('.check-status', ctx.tr(`face.check.status.${ind.status}` as Key));
}

/** onFacePrompt takes an enroll:face event and redraws the challenge while a capture runs. */
export function onFacePrompt(host: HTMLElement | null, ctx: Ctx | null, p: FacePrompt): void {
  if (!faceCapture || p.phase !== 'liveness') return;
  faceCapture.prompt = p;
  const el = host?.querySelector<HTMLElement>('#face-live');
  if (el && ctx) el.replaceWith(liveChallenge(ctx));
}

/** liveChallenge is what the citizen must do while the camera captures (the liveness challenge). */
function liveChallenge(ctx: Ctx): HTMLElement {
  const p = faceCapture?.prompt;
  const keys = livenessPromptKeys(p?.steps ?? ['left', 'right']);
  // Step i of the challenge is prompt i+1 (prompt 0 is "look straight").
  const current = p && p.step >= 0 ? p.step + 1 : -1;
  return h(
    'div',
    { class: 'live notice', id: 'face-live', 'aria-live': 'polite' },
    h('p', {}, h('strong', {}, ctx.tr('face.capturing')), ' ', ctx.tr('face.live.heading')),
    h(
      'ol',
      { id: 'liveness-steps' },
      ...keys.map((k, i) =>
        h('li', { 'data-prompt': k.replace('face.live.', ''), class: i === current ? 'current' : '' }, i === current ? h('strong', {}, ctx.tr(k)) : ctx.tr(k)),
      ),
    ),
  );
}

/** The context the face step was last drawn with (previews arrive between redraws). */
let stepCtx: Ctx | null = null;

export function faceStep(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement {
  stepCtx = ctx;
  const f = v.face;
  const capturing = faceCapture !== null;
  const out: (HTMLElement | null)[] = [
    h('h2', {}, ctx.tr('face.heading')),
    h('p', { class: 'muted' }, ctx.tr('face.intro')),
    h(
      'div',
      { class: 'chip-body faces' },
      v.chip?.photoUrl
        ? h('figure', {}, h('img', { src: v.chip.photoUrl, alt: ctx.tr('face.chipPhoto'), class: 'chip-photo small' }), h('figcaption', {}, ctx.tr('face.chipPhoto')))
        : null,
      f?.portraitUrl && !capturing
        ? h('figure', {}, h('img', { src: f.portraitUrl, alt: ctx.tr('face.portrait'), class: 'chip-photo small', id: 'face-portrait' }), h('figcaption', {}, ctx.tr('face.portrait')))
        : null,
    ),
  ];
  if (capturing) out.push(h('div', { class: 'face-live-grid' }, livePreview(ctx), liveChallenge(ctx)));
  let help: Key | undefined;
  let mismatch = false;
  if (f && !capturing) {
    const o = faceOutcome(f);
    help = o.help;
    mismatch = f.liveness === 'pass' && f.decision === 'no-match';
    out.push(
      h('div', { class: 'face-result', id: 'face-result' },
        f.liveness === 'pass' ? h('p', { class: 'verdict ok', id: 'face-liveness' }, ctx.tr('face.livenessPass')) : null,
        h('p', { id: 'face-score' }, ctx.tr('face.score', { score: f.score.toFixed(3), threshold: f.threshold.toFixed(3) })),
        h('p', { class: `verdict ${o.tone}`, id: 'face-verdict' }, ctx.tr(o.key)),
        help ? h('p', { class: 'notice', id: 'face-help' }, ctx.tr(help)) : null,
        o.key === 'face.review' && !f.reviewed
          ? h('button', { type: 'button', id: 'face-confirm', onclick: () => void io.act('ConfirmFaceReview') }, ctx.tr('face.confirm'))
          : null,
      ),
    );
  }
  const label: Key = io.message() ? 'common.retry' : f ? 'face.retake' : 'face.capture';
  const good = f !== undefined && f.liveness === 'pass' && (f.decision === 'match' || f.reviewed);
  out.push(
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: good ? '' : 'primary',
          id: 'capture-face',
          disabled: capturing,
          'aria-busy': capturing ? 'true' : undefined,
          onclick: () => void captureFace(io),
        },
        capturing ? ctx.tr('face.capturing') : ctx.tr(label),
      ),
      mismatch
        ? h('button', { type: 'button', class: 'danger', id: 'reject-face', disabled: capturing, onclick: () => void io.act('Reject', 'face-mismatch') }, ctx.tr('face.rejectNomatch'))
        : null,
      h(
        'button',
        { type: 'button', class: good ? 'primary' : '', id: 'face-next', disabled: capturing, 'data-autofocus': good, onclick: () => void io.act('Goto', 'fingers') },
        ctx.tr('common.next'),
      ),
    ),
  );
  return h('div', { id: 'face-step' }, ...out);
}

async function captureFace(io: StepIO): Promise<void> {
  if (faceCapture) return;
  faceCapture = { prompt: null, preview: null };
  // The preview is listened to only while this capture runs.
  const off = onEvent<FacePreview>('enroll:face-preview', (p) => onFacePreview(document.getElementById('face-step'), stepCtx, p));
  io.clearMessage();
  io.redraw();
  try {
    await io.act('CaptureFace');
  } finally {
    off();
    faceCapture = null;
    io.redraw();
  }
}

