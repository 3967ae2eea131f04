// The supervisor's officers screen: accounts, PIN lockouts lifted, accounts disabled, new accounts,
// and the onboarding of each officer's own face and fingers (issue 9: the operator check compares
// every citizen an officer enrolls with them), through the citizens' capture path.
import { call, onEvent, type Response } from '../api';
import { field, h, inputValue } from '../dom';
import { type FacePreview, boxPercent, indicators, summaryKey } from '../facepreview';
import { isKey, type Key } from '../i18n';
import { faultMessage, OFFICER_ID, PIN } from '../state';
import { type FacePrompt, livenessPromptKeys } from '../wizard';
import type { Ctx } from './ctx';

/** BiometricsView is desk/app's summary of an officer's enrolled profile. */
export interface BiometricsView {
  enrolled: string;
  by: string;
  sealed?: boolean;
  engines?: string[];
  fingers?: number[];
}

interface OfficerView {
  id: string;
  name: string;
  role: 'officer' | 'supervisor';
  disabled: boolean;
  created: string;
  biometrics?: BiometricsView;
}

interface FingerError {
  position: number;
  code: string;
  message: string;
}

/** OnboardingView is desk/app's onboarding panel state. */
export interface OnboardingView {
  active: boolean;
  officer?: OfficerView;
  face?: { liveness: string; portraitUrl?: string; engines: string[] };
  fingers: { position: number; quality?: number; imageUrl?: string }[];
  positions: number[];
  minFingers: number;
  fingerErrors: FingerError[];
  ready: boolean;
}

/** bioStatus says what the officers table shows of a profile: none, enrolled (with what, once the desk is unlocked). */
export function bioStatus(b: BiometricsView | undefined): { key: Key; params: Record<string, string> } {
  if (!b) return { key: 'officers.bio.none', params: {} };
  if (b.sealed || !b.fingers) return { key: 'officers.bio.enrolled', params: { date: b.enrolled } };
  return { key: 'officers.bio.detail', params: { date: b.enrolled, faces: String(b.engines?.length ?? 0), fingers: String(b.fingers.length) } };
}

/** fingerRows lists the onboarding's finger rows: the policy's fingers first, then any other captured, each with its capture. */
export function fingerRows(v: Pick<OnboardingView, 'positions' | 'fingers'>): { position: number; quality?: number; imageUrl?: string }[] {
  const order = [...new Set([...v.positions, ...v.fingers.map((f) => f.position)])].filter((p) => p >= 1 && p <= 10);
  return order.map((position) => ({ position, ...v.fingers.find((f) => f.position === position) }));
}

/** fingerLabel names an ISO/IEC 19794-2 position, capitalised. */
function fingerLabel(ctx: Ctx, pos: number): string {
  const k = `ops.finger.${pos}`;
  if (!isKey(k)) return String(pos);
  const s = ctx.tr(k);
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * fingerErrorText says one finger-policy error (desk/exceptions codes): the onboarding's own words
 * where the wizard's would offer an exception, which officers cannot declare.
 */
function fingerErrorText(ctx: Ctx, e: FingerError): string {
  const finger = e.position >= 1 && e.position <= 10 ? fingerLabel(ctx, e.position) : '';
  for (const k of [`onboard.err.${e.code}`, `fingererr.${e.code}`]) if (isKey(k)) return ctx.tr(k, { finger });
  return e.message;
}

export function officersPanel(ctx: Ctx): HTMLElement {
  const table = h('table', { class: 'data officers', id: 'officers-table' });
  const status = h('p', { class: 'form-error', role: 'alert', id: 'officers-status' });
  const host = h('div', { id: 'onboarding-host' });
  const show = (r: Response<OfficerView[]>): void => {
    if (!r.ok || !r.data) {
      status.textContent = faultMessage(ctx.lang, r.error);
      return;
    }
    status.textContent = '';
    const me = ctx.session?.officer?.id;
    table.replaceChildren(
      h('tr', {}, ...(['officers.id', 'officers.name', 'officers.role', 'officers.status', 'officers.created', 'officers.biometrics'] as const).map((k) => h('th', {}, ctx.tr(k))), h('th', {})),
      ...r.data.map((o) => {
        const bio = bioStatus(o.biometrics);
        return h(
          'tr',
          { 'data-officer': o.id, 'data-biometrics': o.biometrics ? 'enrolled' : 'none' },
          h('td', {}, o.id),
          h('td', {}, o.name),
          h('td', {}, ctx.tr(o.role === 'supervisor' ? 'role.supervisor' : 'role.officer')),
          h('td', {}, ctx.tr(o.disabled ? 'officers.disabled' : 'officers.active')),
          h('td', {}, o.created),
          h('td', { class: 'bio-status' }, ctx.tr(bio.key, bio.params)),
          h(
            'td',
            {},
            h('button', { type: 'button', class: 'unlock', onclick: () => void call<OfficerView[]>('Officers', 'Unlock', o.id).then(done) }, ctx.tr('officers.unlock')),
            o.id === me
              ? null
              : h('button', { type: 'button', onclick: () => void call<OfficerView[]>('Officers', 'SetDisabled', o.id, !o.disabled).then(done) }, ctx.tr(o.disabled ? 'officers.enable' : 'officers.disable')),
            o.disabled
              ? null
              : h('button', { type: 'button', class: 'enroll-bio', onclick: () => void begin(o.id) }, ctx.tr(o.biometrics ? 'officers.reenrollBio' : 'officers.enrollBio')),
          ),
        );
      }),
    );
  };
  const done = (r: Response<OfficerView[]>): void => {
    show(r);
    if (r.ok) status.textContent = ctx.tr('officers.done');
  };

  // --- Onboarding ------------------------------------------------------------------------------
  let onb: OnboardingView | null = null;
  /** The step that failed last and its message; cleared by the next action. */
  let fault: { step: 'face' | 'fingers' | 'save'; text: string } | null = null;
  let capturing: 'face' | number | null = null;
  let prompt: FacePrompt | null = null;
  let preview: FacePreview | null = null;

  const draw = (): void => {
    host.replaceChildren(onb?.active ? onboardingPanel() : '');
  };
  const apply = (step: 'face' | 'fingers' | 'save', r: Response<OnboardingView>): void => {
    if (r.ok && r.data) {
      onb = r.data;
      fault = null;
    } else {
      fault = { step, text: faultMessage(ctx.lang, r.error) };
    }
    draw();
  };
  const begin = async (id: string): Promise<void> => {
    status.textContent = '';
    const r = await call<OnboardingView>('Officers', 'BeginBiometrics', id);
    if (!r.ok) {
      status.textContent = r.error?.code === 'desk_locked' ? ctx.tr('onboard.locked') : faultMessage(ctx.lang, r.error);
      return;
    }
    fault = null;
    apply('face', r);
    host.scrollIntoView?.({ block: 'start' });
  };
  const captureFace = async (): Promise<void> => {
    if (capturing !== null) return;
    capturing = 'face';
    prompt = null;
    preview = null;
    fault = null;
    // Prompts and previews are listened to only while this capture runs.
    const offPrompt = onEvent<FacePrompt>('enroll:face', (p) => {
      if (p.phase !== 'liveness') return;
      prompt = p;
      host.querySelector('#onboard-live')?.replaceWith(liveChallenge());
    });
    const offPreview = onEvent<FacePreview>('enroll:face-preview', (p) => {
      preview = p;
      const el = host.querySelector<HTMLElement>('#onboard-preview');
      if (el) fillPreview(el, p);
    });
    draw();
    try {
      apply('face', await call<OnboardingView>('Officers', 'CaptureFace'));
    } finally {
      offPrompt();
      offPreview();
      capturing = null;
      preview = null;
      draw();
    }
  };
  const captureFinger = async (pos: number): Promise<void> => {
    if (capturing !== null) return;
    capturing = pos;
    fault = null;
    const off = onEvent<{ position: number; attempt: number; reason?: string }>('enroll:finger', (p) => {
      const el = host.querySelector<HTMLElement>('#onboard-finger-prompt');
      if (!el) return;
      el.hidden = false;
      el.textContent = `${ctx.tr('fingers.place', { finger: fingerLabel(ctx, p.position).toLowerCase(), attempt: String(p.attempt) })}${p.reason ? ` ${ctx.tr('fingers.again')}` : ''}`;
    });
    draw();
    try {
      apply('fingers', await call<OnboardingView>('Officers', 'CaptureFinger', pos));
    } finally {
      off();
      capturing = null;
      draw();
    }
  };
  const save = async (): Promise<void> => {
    const r = await call<OfficerView[]>('Officers', 'SaveBiometrics');
    if (!r.ok) {
      fault = { step: 'save', text: faultMessage(ctx.lang, r.error) };
      draw();
      return;
    }
    onb = null;
    fault = null;
    draw();
    show(r);
    status.textContent = ctx.tr('onboard.saved');
  };
  const cancel = async (): Promise<void> => {
    const r = await call<OnboardingView>('Officers', 'CancelBiometrics');
    if (!r.ok) {
      fault = { step: 'save', text: faultMessage(ctx.lang, r.error) };
      draw();
      return;
    }
    onb = null;
    fault = null;
    draw();
  };
  const stepError = (step: 'face' | 'fingers' | 'save'): HTMLElement =>
    h('p', { class: 'form-error', role: 'alert', id: `onboard-${step}-error` }, fault?.step === step ? fault.text : '');

  /** liveChallenge is what the officer must do while the camera captures. */
  const liveChallenge = (): HTMLElement => {
    const keys = livenessPromptKeys(prompt?.steps ?? ['left', 'right']);
    const current = prompt && prompt.step >= 0 ? prompt.step + 1 : -1;
    return h(
      'div',
      { class: 'live notice', id: 'onboard-live', 'aria-live': 'polite' },
      h('p', {}, h('strong', {}, ctx.tr('face.capturing')), ' ', ctx.tr('onboard.liveHeading')),
      h('ol', {}, ...keys.map((k, i) => h('li', { class: i === current ? 'current' : '' }, i === current ? h('strong', {}, ctx.tr(k)) : ctx.tr(k)))),
    );
  };
  /** fillPreview draws one live preview: the frame, the face box and the quality checks. */
  const fillPreview = (el: HTMLElement, p: FacePreview): void => {
    el.dataset.phase = p.phase;
    const img = el.querySelector<HTMLImageElement>('img');
    if (img) {
      img.src = p.image;
      img.hidden = false;
    }
    el.querySelector('.preview-waiting')?.remove();
    const box = el.querySelector<HTMLElement>('.face-box');
    const at = boxPercent(p);
    if (box) {
      box.hidden = at === null;
      if (at) Object.assign(box.style, at);
      box.classList.toggle('ok', p.pass);
    }
    const k = summaryKey(p);
    const summary = el.querySelector<HTMLElement>('.preview-summary');
    if (summary) {
      summary.textContent = ctx.tr(k);
      summary.className = `preview-summary ${k === 'face.preview.pass' ? 'ok' : k === 'face.preview.fail' ? 'bad' : ''}`;
    }
    el.querySelector('.checks')?.replaceChildren(
      ...indicators(p).map((ind) =>
        h(
          'li',
          { 'data-check': ind.name, class: `check ${ind.status}` },
          h('span', { class: 'check-name' }, ind.label ? ctx.tr(ind.label) : ind.name),
          h('span', { class: 'check-value' }, ind.value),
          h('span', { class: 'check-bound muted' }, ind.bound ? ctx.tr(ind.bound.key, ind.bound.params) : ''),
          h('span', { class: 'check-status' }, ctx.tr(`face.check.status.${ind.status}` as Key)),
        ),
      ),
    );
  };
  const livePreview = (): HTMLElement => {
    const el = h(
      'div',
      { class: 'face-preview', id: 'onboard-preview', 'data-phase': '' },
      h('h3', {}, ctx.tr('face.preview.heading')),
      h(
        'div',
        { class: 'preview-frame' },
        h('img', { alt: ctx.tr('face.preview.alt'), hidden: true }),
        h('div', { class: 'face-box', hidden: true }),
        h('p', { class: 'muted preview-waiting' }, ctx.tr('face.preview.waiting')),
      ),
      h('p', { class: 'preview-summary', 'aria-live': 'polite' }),
      h('h4', {}, ctx.tr('face.preview.checks')),
      h('ul', { class: 'checks' }),
    );
    if (preview) fillPreview(el, preview);
    return el;
  };

  const onboardingPanel = (): HTMLElement => {
    const v = onb as OnboardingView;
    const busy = capturing !== null;
    const f = v.face;
    const faceBlock = h(
      'div',
      { class: 'onboard-face', id: 'onboard-face' },
      h('h3', {}, ctx.tr('onboard.face')),
      f?.portraitUrl && capturing !== 'face'
        ? h('figure', {}, h('img', { src: f.portraitUrl, alt: ctx.tr('face.portrait'), class: 'chip-photo small', id: 'onboard-portrait' }), h('figcaption', {}, ctx.tr('face.portrait')))
        : null,
      f && capturing !== 'face' ? h('p', { class: 'verdict ok', id: 'onboard-face-status' }, ctx.tr('onboard.faceDone', { count: String(f.engines.length) })) : null,
      capturing === 'face' ? h('div', { class: 'face-live-grid' }, livePreview(), liveChallenge()) : null,
      stepError('face'),
      h(
        'button',
        { type: 'button', class: f ? '' : 'primary', id: 'onboard-capture-face', disabled: busy, 'aria-busy': capturing === 'face' ? 'true' : undefined, onclick: () => void captureFace() },
        ctx.tr(capturing === 'face' ? 'face.capturing' : fault?.step === 'face' ? 'common.retry' : f ? 'face.retake' : 'onboard.captureFace'),
      ),
    );
    const rows = fingerRows(v).map((row) =>
      h(
        'tr',
        { 'data-finger': String(row.position) },
        h('th', {}, fingerLabel(ctx, row.position)),
        h(
          'td',
          { class: 'finger-status' },
          row.quality !== undefined ? ctx.tr('fingers.quality', { quality: String(row.quality) }) : ctx.tr('review.none'),
          row.imageUrl ? h('img', { src: row.imageUrl, class: 'finger-image', alt: ctx.tr('fingers.image'), title: ctx.tr('fingers.image') }) : null,
        ),
        h(
          'td',
          {},
          h(
            'button',
            { type: 'button', class: row.quality === undefined ? 'primary' : '', disabled: busy, 'aria-busy': capturing === row.position ? 'true' : undefined, onclick: () => void captureFinger(row.position) },
            ctx.tr(capturing === row.position ? 'onboard.capturingFinger' : 'fingers.capture'),
          ),
        ),
      ),
    );
    const errors = v.fingerErrors.filter((e) => v.fingers.length > 0 || e.position === 0);
    const fingerBlock = h(
      'div',
      { class: 'onboard-fingers' },
      h('h3', {}, ctx.tr('onboard.fingers')),
      h('p', { class: 'muted' }, ctx.tr('onboard.fingersIntro', { count: String(v.minFingers) })),
      h('p', { class: 'notice', id: 'onboard-finger-prompt', 'aria-live': 'polite', hidden: true }),
      h('table', { class: 'data fingers', id: 'onboard-fingers' }, ...rows),
      errors.length
        ? h(
            'div',
            { class: 'problems', id: 'onboard-finger-errors' },
            h('ul', {}, ...errors.map((e) => h('li', { 'data-position': String(e.position), 'data-code': e.code }, fingerErrorText(ctx, e)))),
          )
        : null,
      stepError('fingers'),
    );
    return h(
      'section',
      { class: 'onboarding', id: 'onboarding', 'data-onboarding': v.officer?.id ?? '', 'data-ready': v.ready ? 'true' : 'false' },
      h('h2', {}, ctx.tr('onboard.heading', { name: v.officer?.name ?? '', id: v.officer?.id ?? '' })),
      h('p', { class: 'muted' }, ctx.tr('onboard.intro')),
      faceBlock,
      fingerBlock,
      stepError('save'),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: v.ready ? 'primary' : '', id: 'onboard-save', disabled: busy, onclick: () => void save() }, ctx.tr('onboard.save')),
        h('button', { type: 'button', id: 'onboard-cancel', disabled: busy, onclick: () => void cancel() }, ctx.tr('common.cancel')),
      ),
    );
  };

  const role = h('select', { id: 'new-role', 'aria-label': ctx.tr('officers.role') }, h('option', { value: 'officer' }, ctx.tr('role.officer')), h('option', { value: 'supervisor' }, ctx.tr('role.supervisor')));
  const form = h(
    'form',
    { id: 'new-officer', novalidate: true },
    h('h2', {}, ctx.tr('officers.new')),
    h('div', { class: 'row' }, field('new-id', ctx.tr('officers.id'), 'text'), field('new-name', ctx.tr('officers.name'), 'text'), field('new-pin', ctx.tr('officers.pin'), 'password', { inputmode: 'numeric', maxlength: '12' })),
    h('label', { class: 'inline' }, ctx.tr('officers.role'), role),
    h('button', { type: 'submit', class: 'primary' }, ctx.tr('officers.add')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = inputValue(form, 'new-id').trim();
    const name = inputValue(form, 'new-name').trim();
    const pin = inputValue(form, 'new-pin');
    const errs: [string, boolean, Parameters<Ctx['tr']>[0]][] = [
      ['new-id', OFFICER_ID.test(id), 'field.officerId'],
      ['new-name', [...name].length >= 2 && [...name].length <= 80, 'field.name'],
      ['new-pin', PIN.test(pin), 'field.pin'],
    ];
    let bad = false;
    for (const [fid, good, key] of errs) {
      const el = form.querySelector<HTMLElement>(`#${fid}-error`);
      if (el) el.textContent = good ? '' : ctx.tr(key);
      bad ||= !good;
    }
    if (bad) return;
    void call<OfficerView[]>('Officers', 'Create', { id, name, role: role.value, pin }).then(async (r) => {
      done(r);
      if (!r.ok) return;
      form.reset();
      // The account is created: its owner's face and fingers are enrolled now (issue 9).
      await begin(id);
    });
  });
  void call<OfficerView[]>('Officers', 'List').then(show);
  // An onboarding left open (the supervisor went to another screen) is shown again.
  void call<OnboardingView>('Officers', 'CurrentBiometrics').then((r) => {
    if (r.ok && r.data?.active) apply('face', r);
  });
  return h('section', { class: 'card wide', id: 'officers' }, h('h1', {}, ctx.tr('officers.heading')), status, table, host, form);
}
