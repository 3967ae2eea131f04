// The enrollment wizard: card, face, fingers, application form, review. Every backend answer
// redraws the wizard from the EnrollmentView the Go side returns, so the screen never guesses.
import { call, onEvent, type Response } from '../api';
import { field, h, inputValue } from '../dom';
import { faultMessage } from '../state';
import {
  DOCUMENTS,
  type EnrollmentView,
  type Errors,
  type FacePrompt,
  dedupKey,
  faceOutcome,
  livenessPromptKeys,
  type FormInput,
  REJECT_REASONS,
  REQUIRED_FINGERS,
  STEPS,
  type Step,
  previous,
  problemKey,
  reachable,
  stepIndex,
  validateCardKey,
  validateForm,
  verdictKey,
  type CardKeyForm,
} from '../wizard';
import type { Ctx } from './ctx';
import type { Key } from '../i18n';

let view: EnrollmentView | null = null;
let message = '';
let progress: number | null = null;
let host: HTMLElement | null = null;
let ctxRef: Ctx | null = null;
let unsubscribe: (() => void) | null = null;
let unsubscribeFinger: (() => void) | null = null;
let unsubscribeFace: (() => void) | null = null;
/** The face capture in flight: its challenge prompt (from enroll:face), or null when idle. */
let faceCapture: { prompt: FacePrompt | null } | null = null;

const en = <T>(method: string, ...args: unknown[]): Promise<Response<T>> => call<T>('Enrollment', method, ...args);

async function act(method: string, ...args: unknown[]): Promise<boolean> {
  const r = await en<EnrollmentView>(method, ...args);
  if (r.ok && r.data) {
    view = r.data;
    message = '';
    draw();
    return true;
  }
  message = ctxRef ? faultMessage(ctxRef.lang, r.error) : '';
  // Keep the backend's latest view (e.g. a refused chip's verdict) when it has one.
  const cur = await en<EnrollmentView>('Current');
  if (cur.ok && cur.data) view = cur.data;
  draw();
  return false;
}

/** enrollScreen draws the wizard, starting an enrollment when none is open. */
export function enrollScreen(ctx: Ctx): HTMLElement {
  ctxRef = ctx;
  host = h('section', { class: 'card wide', id: 'wizard' }, h('p', { class: 'muted' }, ctx.tr('common.loading')));
  unsubscribe?.();
  unsubscribe = onEvent<{ percent: number }>('enroll:card', (p) => {
    progress = p.percent;
    const bar = host?.querySelector<HTMLProgressElement>('#card-progress');
    if (bar) bar.value = p.percent;
  });
  unsubscribeFinger?.();
  unsubscribeFinger = onEvent<{ position: number; attempt: number; reason?: string }>('enroll:finger', (p) => {
    const el = host?.querySelector<HTMLElement>('#finger-prompt');
    if (!el || !ctxRef) return;
    const which = ctxRef.tr(`fingerlc.${p.position}` as Key);
    el.textContent = `${ctxRef.tr('fingers.place', { finger: which, attempt: String(p.attempt) })}${p.reason ? ` ${ctxRef.tr('fingers.again')}` : ''}`;
  });
  unsubscribeFace?.();
  unsubscribeFace = onEvent<FacePrompt>('enroll:face', (p) => {
    if (!faceCapture || p.phase !== 'liveness') return;
    faceCapture.prompt = p;
    const el = host?.querySelector<HTMLElement>('#face-live');
    if (el && ctxRef) el.replaceWith(liveChallenge(ctxRef));
  });
  void (async () => {
    const cur = await en<EnrollmentView>('Current');
    if (cur.ok && cur.data?.active) {
      view = cur.data;
      draw();
    } else {
      await act('Start');
    }
  })();
  return host;
}

/** handleKey gives Esc its meaning on the wizard: back one step. */
export function handleKey(e: KeyboardEvent): void {
  if (e.key !== 'Escape' || !view || !host?.isConnected) return;
  const prev = previous(view.step);
  if (prev) void act('Goto', prev);
}

function draw(): void {
  if (!host || !ctxRef || !view) return;
  const ctx = ctxRef;
  const v = view;
  const body = ((): HTMLElement => {
    switch (v.step) {
      case 'card':
        return cardStep(ctx, v);
      case 'face':
        return faceStep(ctx, v);
      case 'fingers':
        return fingersStep(ctx, v);
      case 'form':
        return formStep(ctx, v);
      case 'review':
        return reviewStep(ctx, v);
      case 'done':
        return doneStep(ctx, v);
    }
  })();
  host.replaceChildren(
    stepper(ctx, v),
    h('div', { class: 'form-error', role: 'alert', id: 'wizard-error' }, message),
    body,
    h('p', { class: 'muted small' }, ctx.tr('wizard.keys')),
  );
  host.setAttribute('data-step', v.step);
  const first = host.querySelector<HTMLElement>('[data-autofocus]') ?? host.querySelector<HTMLElement>('input, button.primary');
  first?.focus();
}

function stepper(ctx: Ctx, v: EnrollmentView): HTMLElement {
  const cur = stepIndex(v.step);
  return h(
    'ol',
    { class: 'stepper' },
    ...STEPS.map((s, i) =>
      h(
        'li',
        { class: i === cur ? 'current' : i < cur ? 'past' : '' },
        h(
          'button',
          { type: 'button', disabled: !reachable(v, s) || i === cur, onclick: () => void act('Goto', s) },
          `${i + 1}. ${ctx.tr(`step.${s}` as Key)}`,
        ),
      ),
    ),
  );
}

function showErrors<F>(form: HTMLElement, ctx: Ctx, ids: (keyof F & string)[], errs: Errors<F>): boolean {
  for (const id of ids) {
    const el = form.querySelector<HTMLElement>(`#${id}-error`);
    const k = errs[id];
    if (el) el.textContent = k ? ctx.tr(k) : '';
  }
  return Object.keys(errs).length === 0;
}

function cardStep(ctx: Ctx, v: EnrollmentView): HTMLElement {
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
    h('button', { type: 'submit', class: 'primary' }, ctx.tr('card.read')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const k = Object.fromEntries(ids.map((id) => [id, inputValue(form, id)])) as unknown as CardKeyForm;
    if (!showErrors(form, ctx, ids, validateCardKey(k))) return;
    // A new attempt: the last attempt's error goes away until this one answers.
    message = '';
    const shown = host?.querySelector<HTMLElement>('#wizard-error');
    if (shown) shown.textContent = '';
    const bar = form.querySelector<HTMLProgressElement>('#card-progress');
    const button = form.querySelector('button[type=submit]') as HTMLButtonElement | null;
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    if (button) {
      button.disabled = true;
      button.textContent = ctx.tr('card.reading');
    }
    progress = 0;
    void act('ReadCard', k).finally(() => {
      progress = null;
    });
  });
  return h('div', {}, form, v.chip ? chipPanel(ctx, v) : null);
}

function chipPanel(ctx: Ctx, v: EnrollmentView): HTMLElement | null {
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
      ? h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'card-next', onclick: () => void act('Goto', 'face') }, ctx.tr('common.next')))
      : null,
  );
}

/** busy disables the step's buttons while a device works and says what the citizen must do. */
function busy(button: HTMLButtonElement, hint: Key, params: Record<string, string>): void {
  if (!host || !ctxRef) return;
  for (const b of host.querySelectorAll<HTMLButtonElement>('button')) b.disabled = true;
  const prompt = host.querySelector<HTMLElement>('#finger-prompt');
  if (prompt) {
    prompt.hidden = false;
    prompt.textContent = ctxRef.tr(hint, params);
  }
  button.setAttribute('aria-busy', 'true');
}

function retryable(ctx: Ctx, label: Key, id: string, onClick: () => void): HTMLElement {
  return h('button', { type: 'button', class: 'primary', id, onclick: onClick }, ctx.tr(label));
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

function faceStep(ctx: Ctx, v: EnrollmentView): HTMLElement {
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
          ? h('button', { type: 'button', id: 'face-confirm', onclick: () => void act('ConfirmFaceReview') }, ctx.tr('face.confirm'))
          : null,
      ),
    );
  }
  const label: Key = message ? 'common.retry' : f ? 'face.retake' : 'face.capture';
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
          onclick: () => void captureFace(),
        },
        capturing ? ctx.tr('face.capturing') : ctx.tr(label),
      ),
      mismatch
        ? h('button', { type: 'button', class: 'danger', id: 'reject-face', disabled: capturing, onclick: () => void act('Reject', 'face-mismatch') }, ctx.tr('face.rejectNomatch'))
        : null,
      h(
        'button',
        { type: 'button', class: good ? 'primary' : '', id: 'face-next', disabled: capturing, 'data-autofocus': good, onclick: () => void act('Goto', 'fingers') },
        ctx.tr('common.next'),
      ),
    ),
  );
  return h('div', { id: 'face-step' }, ...out);
}

async function captureFace(): Promise<void> {
  if (faceCapture) return;
  faceCapture = { prompt: null };
  message = '';
  draw();
  try {
    await act('CaptureFace');
  } finally {
    faceCapture = null;
    draw();
  }
}

function fingersStep(ctx: Ctx, v: EnrollmentView): HTMLElement {
  const rows = REQUIRED_FINGERS.map((pos) => {
    const got = v.fingers.find((x) => x.position === pos);
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
      h('th', {}, ctx.tr(`finger.${pos}` as Key)),
      h('td', { class: 'finger-status' }, status),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'primary',
            onclick: (e: Event) => {
              busy(e.target as HTMLButtonElement, 'fingers.place', { finger: ctx.tr(`fingerlc.${pos}` as Key), attempt: '1' });
              void act('CaptureFinger', pos);
            },
          },
          ctx.tr('fingers.capture'),
        ),
      ),
      h(
        'td',
        {},
        h('label', { class: 'inline' }, ctx.tr('fingers.exception'), reason),
        h('button', { type: 'button', onclick: () => void act('DeclareFingerException', pos, reason.value) }, ctx.tr('fingers.declare')),
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
    h('div', { class: 'actions' }, h('button', { type: 'button', id: 'fingers-done', onclick: () => void act('FingersDone') }, ctx.tr('fingers.done'))),
  );
}

function formStep(ctx: Ctx, v: EnrollmentView): HTMLElement {
  const prev = v.form;
  const minor = v.chip?.minor ?? false;
  const docs = h(
    'fieldset',
    { class: 'docs' },
    h('legend', {}, ctx.tr('form.documents')),
    ...DOCUMENTS.map((d) =>
      h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: 'documents', value: d, checked: prev?.documents.includes(d) ?? false }), ctx.tr(`doc.${d}`)),
    ),
  );
  const rep = h(
    'div',
    { class: 'rep', id: 'rep', hidden: !(prev?.hasRepresentative ?? minor) },
    field('representativeId', ctx.tr('form.repId'), 'text', { inputmode: 'numeric', maxlength: '12', value: prev?.representativeId ?? '' }),
    field('representativeName', ctx.tr('form.repName'), 'text', { value: prev?.representativeName ?? '' }),
    field('representativeMobile', ctx.tr('form.repMobile'), 'tel', { value: prev?.representativeMobile ?? '' }),
    field('relation', ctx.tr('form.relation'), 'text', { value: prev?.relation ?? '' }),
  );
  const hasRep = h('input', { type: 'checkbox', id: 'hasRepresentative', checked: prev?.hasRepresentative ?? minor });
  hasRep.addEventListener('change', () => {
    rep.hidden = !hasRep.checked;
  });
  const consent = h('input', { type: 'checkbox', id: 'consent', checked: prev?.consent ?? false });
  const form = h(
    'form',
    { id: 'application-form', novalidate: true },
    h('h2', {}, ctx.tr('form.heading')),
    field('mobile', ctx.tr('form.mobile'), 'tel', { 'data-autofocus': true, value: prev?.mobile ?? '' }),
    field('email', ctx.tr('form.email'), 'email', { value: prev?.email ?? '' }),
    docs,
    h('label', { class: 'inline' }, hasRep, ctx.tr('form.hasRepresentative')),
    h('div', { class: 'field-error', id: 'hasRepresentative-error' }),
    rep,
    h('label', { class: 'inline consent' }, consent, ctx.tr('form.consent')),
    h('div', { class: 'field-error', id: 'consent-error' }),
    h('button', { type: 'submit', class: 'primary' }, ctx.tr('form.submit')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f: FormInput = {
      mobile: inputValue(form, 'mobile'),
      email: inputValue(form, 'email'),
      documents: [...form.querySelectorAll<HTMLInputElement>('input[name=documents]:checked')].map((x) => x.value),
      hasRepresentative: hasRep.checked,
      representativeId: inputValue(form, 'representativeId'),
      representativeName: inputValue(form, 'representativeName'),
      representativeMobile: inputValue(form, 'representativeMobile'),
      relation: inputValue(form, 'relation'),
      consent: consent.checked,
    };
    const ids: (keyof FormInput & string)[] = ['mobile', 'email', 'hasRepresentative', 'representativeId', 'representativeMobile', 'consent'];
    if (!showErrors(form, ctx, ids, validateForm(f, minor))) return;
    void act('SubmitForm', f);
  });
  return form;
}

function reviewStep(ctx: Ctx, v: EnrollmentView): HTMLElement {
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
    void act('Approve', inputValue(approve, 'approve-pin'));
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
    h('button', { type: 'button', id: 'reject', class: 'danger', onclick: () => void act('Reject', reason.value) }, ctx.tr('review.reject')),
  );
  return h('div', { id: 'review-step' }, h('h2', {}, ctx.tr('review.heading')), summary, problems, approve, reject);
}

function doneStep(ctx: Ctx, v: EnrollmentView): HTMLElement {
  const text = v.rejected
    ? ctx.tr('done.rejected', { reason: ctx.tr(`reason.${v.rejected}` as Key) })
    : ctx.tr('done.approved', { seq: String(v.seq ?? '') });
  return h(
    'div',
    { id: 'done-step' },
    h('p', { class: v.rejected ? 'verdict warn' : 'verdict ok', id: 'done-message' }, text),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', 'data-autofocus': true, onclick: () => void act('Close').then(() => act('Start')) }, ctx.tr('done.next')),
      h('button', { type: 'button', onclick: () => void act('Close').then(() => ctx.navigate('home')) }, ctx.tr('done.home')),
    ),
  );
}

export type { Step };
