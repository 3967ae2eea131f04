// Step 2: the live face. The camera captures while the citizen follows the liveness
// challenge; the portrait, the liveness result and the match against the chip photo are shown.
import { h } from '../../dom';
import { type EnrollmentView, type FacePrompt, faceOutcome, livenessPromptKeys } from '../../wizard';
import type { Key } from '../../i18n';
import type { Ctx } from '../ctx';
import type { StepIO } from './io';

/** The face capture in flight: its challenge prompt (from enroll:face), or null when idle. */
let faceCapture: { prompt: FacePrompt | null } | null = null;

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

export function faceStep(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement {
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
  if (capturing) out.push(liveChallenge(ctx));
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
  faceCapture = { prompt: null };
  io.clearMessage();
  io.redraw();
  try {
    await io.act('CaptureFace');
  } finally {
    faceCapture = null;
    io.redraw();
  }
}

