// Step 4: the application form for a level-02 account (Decree 69/2024 art. 10): contact,
// documents to integrate, the representative of a minor, and consent.
import { field, h, inputValue } from '../../dom';
import { DOCUMENTS, type EnrollmentView, type FormInput, validateForm } from '../../wizard';
import type { Ctx } from '../ctx';
import { showErrors, type StepIO } from './io';

export function formStep(ctx: Ctx, v: EnrollmentView, io: StepIO): HTMLElement {
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
    void io.act('SubmitForm', f);
  });
  return form;
}

