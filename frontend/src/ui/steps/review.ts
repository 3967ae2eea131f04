// Step 5: review everything side by side, then approve (the officer's PIN signs) or reject
// with a reason; and the closing screen that starts the next citizen.
import { field, h, inputValue } from '../../dom';
import { type EnrollmentView, REJECT_REASONS, REQUIRED_FINGERS, dedupKey, problemKey, verdictKey } from '../../wizard';
import type { Key } from '../../i18n';
import type { Ctx } from '../ctx';
import type { StepIO } from './io';

export function reviewStep(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement {
  const c = v.chip;
  const f = v.form;
  const problems = v.problems.length
    ? h(
        'div',
        { class: 'problems', id: 'problems' },
        h('p', {}, ctx.tr('review.problems')),
        h('ul', {}, ...v.problems.map((p) => h('li', {}, ctx.tr(problemKey(p.code))))),
      )
    : h('p', { class: 'verdict ok', id: 'problems' }, ctx.tr('review.ready'));
  const fingers = REQUIRED_FINGERS.map((pos) => {
    const got = v.fingers.find((x) => x.position === pos);
    const txt = got?.exception
      ? ctx.tr(`fingers.reason.${got.exception}` as Key)
      : got?.quality !== undefined
        ? ctx.tr('fingers.quality', { quality: String(got.quality) })
        : ctx.tr('review.none');
    return h('tr', {}, h('th', {}, ctx.tr(`finger.${pos}` as Key)), h('td', {}, txt));
  });
  const summary = h(
    'div',
    { class: 'review-grid' },
    h(
      'div',
      {},
      h(
        'div',
        { class: 'chip-body', style: 'gap: 0.5rem' },
        c?.photoUrl
          ? h('img', { src: c.photoUrl, alt: ctx.tr('face.chipPhoto'), title: ctx.tr('face.chipPhoto'), class: 'chip-photo small', style: 'width: 100px' })
          : null,
        v.face?.portraitUrl
          ? h('img', { src: v.face.portraitUrl, alt: ctx.tr('face.portrait'), title: ctx.tr('face.portrait'), class: 'chip-photo small', style: 'width: 100px', id: 'review-portrait' })
          : null,
      ),
      h('p', {}, h('strong', {}, c?.fullName ?? ''), h('br', {}), c?.idNumber ?? '', h('br', {}), c?.dateOfBirth ?? ''),
      c ? h('p', { class: verdictKey(c) === 'verdict.genuine' ? 'verdict ok' : 'verdict bad' }, ctx.tr(verdictKey(c))) : null,
    ),
    h(
      'table',
      { class: 'data' },
      h('tr', {}, h('th', {}, ctx.tr('step.face')), h('td', {}, v.face ? ctx.tr(v.face.decision === 'match' ? 'face.match' : v.face.decision === 'no-match' ? 'face.nomatch' : 'face.review') : ctx.tr('review.none'))),
      ...fingers,
      h(
        'tr',
        { id: 'review-dedup' },
        h('th', {}, ctx.tr('dedup.label')),
        h('td', {}, v.dedup ? ctx.tr(dedupKey(v.dedup), { n: String(v.dedup.gallerySize), candidates: String(v.dedup.candidates) }) : ctx.tr('review.none')),
      ),
      h('tr', {}, h('th', {}, ctx.tr('form.mobile')), h('td', {}, f?.mobile ?? ctx.tr('review.none'))),
      h('tr', {}, h('th', {}, ctx.tr('form.email')), h('td', {}, f?.email || ctx.tr('common.none'))),
      h('tr', {}, h('th', {}, ctx.tr('form.documents')), h('td', {}, f?.documents.length ? f.documents.map((d) => ctx.tr(`doc.${d}` as Key)).join(', ') : ctx.tr('common.none'))),
    ),
  );
  const approve = h(
    'form',
    { id: 'approve-form', novalidate: true },
    field('approve-pin', ctx.tr('review.pin'), 'password', { inputmode: 'numeric', maxlength: '12' }),
    h('button', { type: 'submit', class: 'primary', disabled: v.problems.length > 0 }, ctx.tr('review.approve')),
  );
  approve.addEventListener('submit', (e) => {
    e.preventDefault();
    void io.act('Approve', inputValue(approve, 'approve-pin'));
  });
  const reason = h(
    'select',
    { id: 'reject-reason', 'aria-label': ctx.tr('review.rejectReason') },
    ...REJECT_REASONS.map((r) => h('option', { value: r }, ctx.tr(`reason.${r}`))),
  );
  const reject = h(
    'div',
    { class: 'reject' },
    h('label', { class: 'inline' }, ctx.tr('review.rejectReason'), reason),
    h('button', { type: 'button', id: 'reject', class: 'danger', onclick: () => void io.act('Reject', reason.value) }, ctx.tr('review.reject')),
  );
  return h('div', { id: 'review-step' }, h('h2', {}, ctx.tr('review.heading')), summary, problems, approve, reject);
}

/** The done view of an approval the review queue kept for the supervisor (desk/app EnrollmentView). */
interface PendingView {
  pending?: boolean;
  itemId?: string;
  pendingWhy?: string[];
}

/** whyKey translates one reason a record waits for review ("policy", "exceptions", "flag:<check>"). */
function whyKey(why: string): Key {
  if (why.startsWith('flag:')) return 'why.flag';
  switch (why) {
    case 'policy':
      return 'why.policy';
    case 'exceptions':
      return 'why.exceptions';
    default:
      return 'why.release-failed';
  }
}

export function doneStep(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement {
  const p = v as EnrollmentView & PendingView;
  const text = v.rejected
    ? ctx.tr('done.rejected', { reason: ctx.tr(`reason.${v.rejected}` as Key) })
    : p.pending
      ? ctx.tr('done.pending')
      : ctx.tr('done.approved', { seq: String(v.seq ?? '') });
  const why = p.pending && p.pendingWhy?.length ? [...new Set(p.pendingWhy.map((w) => ctx.tr(whyKey(w))))].join('; ') : '';
  return h(
    'div',
    { id: 'done-step', 'data-pending': p.pending ? 'true' : 'false' },
    h('p', { class: v.rejected ? 'verdict warn' : p.pending ? 'verdict warn' : 'verdict ok', id: 'done-message' }, text),
    why ? h('p', { class: 'muted', id: 'done-why' }, ctx.tr('done.why', { why })) : null,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', 'data-autofocus': true, onclick: () => void io.act('Close').then(() => io.act('Start')) }, ctx.tr('done.next')),
      h('button', { type: 'button', onclick: () => void io.act('Close').then(() => ctx.navigate('home')) }, ctx.tr('done.home')),
    ),
  );
}

