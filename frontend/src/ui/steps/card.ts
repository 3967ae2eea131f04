// Step 1: the chip card. The officer types the access key (CAN, or ID number with the two
// dates); the chip is read with a progress bar, then its photo, data and verdict are shown.
import { field, h, inputValue } from '../../dom';
import { type CardKeyForm, type EnrollmentView, validateCardKey, verdictKey } from '../../wizard';
import type { Key } from '../../i18n';
import type { Ctx } from '../ctx';
import { showErrors, type StepIO } from './io';

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
    h('button', { type: 'submit', class: 'primary' }, ctx.tr('card.read')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const k = Object.fromEntries(ids.map((id) => [id, inputValue(form, id)])) as unknown as CardKeyForm;
    if (!showErrors(form, ctx, ids, validateCardKey(k))) return;
    // A new attempt: the last attempt's error goes away until this one answers.
    io.clearMessage();
    const shown = io.host()?.querySelector<HTMLElement>('#wizard-error');
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
    void io.act('ReadCard', k).finally(() => {
      progress = null;
    });
  });
  return h('div', {}, form, v.chip ? chipPanel(ctx, v, io) : null);
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

