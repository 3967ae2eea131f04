// Local history: this desk's records by ID number or day. Nothing biometric is ever shown; after
// the registry's receipt the row says the biometrics were purged.
import { call } from '../api';
import { field, h, inputValue } from '../dom';
import { formatDate, formatTime, parseDate } from '../format';
import type { Key } from '../i18n';
import { faultMessage } from '../state';
import type { Ctx } from './ctx';

interface HistoryEntry {
  seq: number;
  recordId: string;
  released: string;
  officerId: string;
  idNumber: string;
  fullName: string;
  faceDecision: string;
  fingers: number;
  state: 'queued' | 'sent' | 'acked';
  biometricsPurged: boolean;
}

export function historyPanel(ctx: Ctx): HTMLElement {
  const results = h('div', { id: 'history-results' });
  const form = h(
    'form',
    { id: 'history-form', novalidate: true },
    h('div', { class: 'row' }, field('h-id', ctx.tr('history.idNumber'), 'text', { inputmode: 'numeric', maxlength: '12' }), field('h-date', ctx.tr('history.date'), 'text', { placeholder: 'dd/mm/yyyy' })),
    h('button', { type: 'submit', class: 'primary' }, ctx.tr('history.search')),
  );
  const search = async (): Promise<void> => {
    const idNumber = inputValue(form, 'h-id').trim();
    const date = inputValue(form, 'h-date').trim();
    const idErr = form.querySelector<HTMLElement>('#h-id-error');
    const dateErr = form.querySelector<HTMLElement>('#h-date-error');
    const badId = idNumber !== '' && !/^\d{12}$/.test(idNumber);
    const badDate = date !== '' && !parseDate(date);
    if (idErr) idErr.textContent = badId ? ctx.tr('history.err.id') : '';
    if (dateErr) dateErr.textContent = badDate ? ctx.tr('card.err.date') : '';
    if (badId || badDate) return;
    const r = await call<HistoryEntry[]>('History', 'Search', { idNumber, date });
    if (!r.ok || !r.data) {
      results.replaceChildren(h('p', { class: 'form-error', role: 'alert' }, faultMessage(ctx.lang, r.error)));
      return;
    }
    if (r.data.length === 0) {
      results.replaceChildren(h('p', { class: 'empty', id: 'history-empty' }, ctx.tr('history.none')));
      return;
    }
    const head = (['history.seq', 'history.when', 'card.idNumber', 'card.fullName', 'history.officer', 'step.face', 'history.state', 'history.bio'] as const).map((k) => h('th', {}, ctx.tr(k)));
    results.replaceChildren(
      h(
        'table',
        { class: 'data history' },
        h('tr', {}, ...head),
        ...r.data.map((e) => {
          const at = new Date(e.released);
          return h(
            'tr',
            { 'data-seq': String(e.seq) },
            h('td', {}, String(e.seq)),
            h('td', {}, `${formatTime(at)} ${formatDate(at)}`),
            h('td', {}, e.idNumber),
            h('td', {}, e.fullName),
            h('td', {}, e.officerId),
            h('td', {}, ctx.tr(e.faceDecision === 'match' ? 'face.match' : e.faceDecision === 'no-match' ? 'face.nomatch' : 'face.review')),
            h('td', {}, ctx.tr(`history.state.${e.state}` as Key)),
            h('td', {}, ctx.tr(e.biometricsPurged ? 'history.bio.purged' : 'history.bio.kept')),
          );
        }),
      ),
    );
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void search();
  });
  void search();
  return h('section', { class: 'card wide', id: 'history' }, h('h1', {}, ctx.tr('history.heading')), form, results);
}
