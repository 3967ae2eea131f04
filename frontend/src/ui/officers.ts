// The supervisor's officers screen: accounts, PIN lockouts lifted, accounts disabled, new accounts.
import { call, type Response } from '../api';
import { field, h, inputValue } from '../dom';
import { faultMessage, OFFICER_ID, PIN } from '../state';
import type { Ctx } from './ctx';

interface OfficerView {
  id: string;
  name: string;
  role: 'officer' | 'supervisor';
  disabled: boolean;
  created: string;
}

export function officersPanel(ctx: Ctx): HTMLElement {
  const table = h('table', { class: 'data officers', id: 'officers-table' });
  const status = h('p', { class: 'form-error', role: 'alert', id: 'officers-status' });
  const show = (r: Response<OfficerView[]>): void => {
    if (!r.ok || !r.data) {
      status.textContent = faultMessage(ctx.lang, r.error);
      return;
    }
    status.textContent = '';
    const me = ctx.session?.officer?.id;
    table.replaceChildren(
      h('tr', {}, ...(['officers.id', 'officers.name', 'officers.role', 'officers.status', 'officers.created'] as const).map((k) => h('th', {}, ctx.tr(k))), h('th', {})),
      ...r.data.map((o) =>
        h(
          'tr',
          { 'data-officer': o.id },
          h('td', {}, o.id),
          h('td', {}, o.name),
          h('td', {}, ctx.tr(o.role === 'supervisor' ? 'role.supervisor' : 'role.officer')),
          h('td', {}, ctx.tr(o.disabled ? 'officers.disabled' : 'officers.active')),
          h('td', {}, o.created),
          h(
            'td',
            {},
            h('button', { type: 'button', class: 'unlock', onclick: () => void call<OfficerView[]>('Officers', 'Unlock', o.id).then(done) }, ctx.tr('officers.unlock')),
            o.id === me
              ? null
              : h('button', { type: 'button', onclick: () => void call<OfficerView[]>('Officers', 'SetDisabled', o.id, !o.disabled).then(done) }, ctx.tr(o.disabled ? 'officers.enable' : 'officers.disable')),
          ),
        ),
      ),
    );
  };
  const done = (r: Response<OfficerView[]>): void => {
    show(r);
    if (r.ok) status.textContent = ctx.tr('officers.done');
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
    void call<OfficerView[]>('Officers', 'Create', { id, name, role: role.value, pin }).then((r) => {
      done(r);
      if (r.ok) form.reset();
    });
  });
  void call<OfficerView[]>('Officers', 'List').then(show);
  return h('section', { class: 'card wide', id: 'officers' }, h('h1', {}, ctx.tr('officers.heading')), status, table, form);
}
