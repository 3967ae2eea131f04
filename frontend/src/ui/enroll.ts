// The enrollment wizard: card, face, fingers, application form, review. Every backend answer
// redraws the wizard from the EnrollmentView the Go side returns, so the screen never guesses.
// This file is the shell (the view, the error line, the stepper, events and keys); each step
// draws itself in ui/steps.
import { call, onEvent, type Response } from '../api';
import { h } from '../dom';
import { faultMessage } from '../state';
import { type EnrollmentView, type FacePrompt, STEPS, type Step, previous, reachable, stepIndex } from '../wizard';
import type { Ctx } from './ctx';
import type { Key } from '../i18n';
import { cardStep, onCardProgress } from './steps/card';
import { faceStep, onFacePrompt } from './steps/face';
import { fingersStep, onFingerPrompt } from './steps/fingers';
import { formStep } from './steps/form';
import type { StepIO, StepView } from './steps/io';
import { doneStep, reviewStep } from './steps/review';

let view: EnrollmentView | null = null;
let message = '';
let host: HTMLElement | null = null;
let ctxRef: Ctx | null = null;
let unsubscribe: (() => void)[] = [];

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

const io: StepIO = {
  act,
  call: en,
  message: () => message,
  clearMessage: () => {
    message = '';
  },
  redraw: () => draw(),
  host: () => host,
};

const steps: Record<Step, StepView> = {
  card: cardStep,
  face: faceStep,
  fingers: fingersStep,
  form: formStep,
  review: reviewStep,
  done: doneStep,
};

/** enrollScreen draws the wizard, starting an enrollment when none is open. */
export function enrollScreen(ctx: Ctx): HTMLElement {
  ctxRef = ctx;
  host = h('section', { class: 'card wide', id: 'wizard' }, h('p', { class: 'muted' }, ctx.tr('common.loading')));
  for (const off of unsubscribe) off();
  unsubscribe = [
    onEvent<{ percent: number }>('enroll:card', (p) => onCardProgress(host, p.percent)),
    onEvent<{ position: number; attempt: number; reason?: string }>('enroll:finger', (p) => onFingerPrompt(host, ctxRef, p)),
    onEvent<FacePrompt>('enroll:face', (p) => onFacePrompt(host, ctxRef, p)),
  ];
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
  // A closed enrollment's view names no step: nothing to draw until the next one starts.
  const step = steps[v.step] as StepView | undefined;
  host.replaceChildren(
    stepper(ctx, v),
    h('div', { class: 'form-error', role: 'alert', id: 'wizard-error' }, message),
    step ? step(ctx, v, io) : h('div', {}),
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

export type { Step };
