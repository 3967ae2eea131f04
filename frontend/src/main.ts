import './style.css';
import { api, call, onEvent, type SessionState } from './api';
import type { View } from './ui/ctx';
import { enrollScreen, handleKey } from './ui/enroll';
import { historyPanel } from './ui/history';
import { officersPanel } from './ui/officers';
import { freezeBanner, opsScreen, type OpsView } from './ui/ops';
import { devicesPanel, queuePanel } from './ui/panels';
import { settingsScreen, type SettingsView } from './ui/settings';
import { field, h, inputValue } from './dom';
import { formatDate } from './format';
import { DEFAULT_LANG, type Key, type Lang, LANGS, isLang, t } from './i18n';
import {
  type FieldErrors,
  type ProvisionForm,
  type Screen,
  faultMessage,
  loginReady,
  screenFor,
  validateProvision,
} from './state';

const root = document.getElementById('app') as HTMLElement;
let session: SessionState | null = null;
let lang: Lang = DEFAULT_LANG;
let shown: Screen | null = null;
let current: View | OpsView | SettingsView = 'home';
let reported = false;

const tr = (key: Key, params?: Record<string, string>): string => t(lang, key, params);

function ctx() {
  return { lang, session, tr, navigate, applySession: apply };
}

function navigate(v: View | OpsView | SettingsView): void {
  current = v;
  render();
}

document.addEventListener('keydown', (e) => {
  if (current === 'enroll') handleKey(e);
});

function render(): void {
  const screen = screenFor(session);
  shown = screen;
  document.documentElement.lang = lang;
  document.title = tr('app.title');
  const body = (() => {
    switch (screen) {
      case 'loading':
        return h('p', { class: 'muted' }, tr('common.loading'));
      case 'provision':
        return provisionScreen();
      case 'login':
        return loginScreen();
      case 'home':
        return loggedIn();
    }
  })();
  root.replaceChildren(...[header(), screen === 'home' ? nav() : null, h('main', { 'data-screen': screen === 'home' ? current : screen }, body)].filter((x): x is HTMLElement => x !== null));
  root.querySelector<HTMLInputElement>('main input')?.focus();
  if (!reported && screen !== 'loading') {
    reported = true;
    void api.uiReady(screen);
  }
}

function header(): HTMLElement {
  const select = h(
    'select',
    {
      id: 'language',
      'aria-label': tr('lang.label'),
      onchange: (e: Event) => void switchLanguage((e.target as HTMLSelectElement).value),
    },
    ...LANGS.map((l) => h('option', { value: l, selected: l === lang }, tr(`lang.${l}`))),
  );
  const who = session?.officer
    ? h(
        'span',
        { class: 'who' },
        `${session.officer.name} · ${tr(session.officer.role === 'supervisor' ? 'role.supervisor' : 'role.officer')}`,
        h(
          'button',
          {
            type: 'button',
            id: 'logout',
            class: 'logout',
            onclick: () =>
              void api.logout().then((r) => {
                current = 'home';
                if (r.ok && r.data) apply(r.data);
              }),
          },
          tr('home.logout'),
        ),
      )
    : null;
  return h(
    'header',
    {},
    h('div', { class: 'brand' }, h('strong', {}, tr('app.title')), h('span', { class: 'muted' }, tr('app.subtitle'))),
    who,
    h('label', { class: 'lang' }, tr('lang.label'), select),
  );
}

async function switchLanguage(v: string): Promise<void> {
  if (!isLang(v)) return;
  const r = await api.setLanguage(v);
  if (r.ok && r.data) apply(r.data);
}

function apply(s: SessionState): void {
  const prevLang = lang;
  session = s;
  lang = isLang(s.language) ? s.language : DEFAULT_LANG;
  if (screenFor(s) !== shown || lang !== prevLang) render();
}

function showError(form: HTMLElement, msg: string): void {
  const el = form.querySelector<HTMLElement>('.form-error');
  if (el) el.textContent = msg;
}

function loginScreen(): HTMLElement {
  const form = h(
    'form',
    { class: 'card narrow', id: 'login-form', novalidate: true },
    h('h1', {}, tr('login.heading')),
    h('p', { class: 'muted' }, tr('login.hint')),
    field('officerId', tr('login.officerId'), 'text', { autocapitalize: 'off', spellcheck: 'false' }),
    field('pin', tr('login.pin'), 'password', { inputmode: 'numeric', maxlength: '12' }),
    h('div', { class: 'form-error', role: 'alert' }),
    h('button', { type: 'submit', class: 'primary' }, tr('login.submit')),
    session?.deskId ? h('p', { class: 'muted small' }, tr('login.desk', { desk: session.deskId })) : null,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const id = inputValue(form, 'officerId').trim();
    const pin = inputValue(form, 'pin');
    if (!loginReady(id, pin)) {
      showError(form, tr('error.wrong_pin'));
      return;
    }
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    void api.login(id, pin).then((r) => {
      if (button) button.disabled = false;
      if (r.ok && r.data) {
        apply(r.data);
        return;
      }
      showError(form, faultMessage(lang, r.error));
      const pinInput = form.querySelector<HTMLInputElement>('#pin');
      if (pinInput) {
        pinInput.value = '';
        pinInput.focus();
      }
    });
  });
  return form;
}

function provisionScreen(): HTMLElement {
  const ids: (keyof ProvisionForm)[] = ['passphrase', 'passphrase2', 'supervisorId', 'supervisorName', 'pin', 'pin2'];
  const labels: Record<keyof ProvisionForm, Key> = {
    passphrase: 'provision.passphrase',
    passphrase2: 'provision.passphrase2',
    supervisorId: 'provision.supervisorId',
    supervisorName: 'provision.supervisorName',
    pin: 'provision.pin',
    pin2: 'provision.pin2',
  };
  const types: Record<keyof ProvisionForm, string> = {
    passphrase: 'password',
    passphrase2: 'password',
    supervisorId: 'text',
    supervisorName: 'text',
    pin: 'password',
    pin2: 'password',
  };
  const form = h(
    'form',
    { class: 'card narrow', id: 'provision-form', novalidate: true },
    h('h1', {}, tr('provision.heading')),
    h('p', { class: 'muted' }, tr('provision.intro')),
    ...ids.map((id) => field(id, tr(labels[id]), types[id])),
    h('div', { class: 'form-error', role: 'alert' }),
    h('button', { type: 'submit', class: 'primary' }, tr('provision.submit')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = Object.fromEntries(ids.map((id) => [id, inputValue(form, id)])) as unknown as ProvisionForm;
    const errs: FieldErrors<ProvisionForm> = validateProvision(f);
    for (const id of ids) {
      const el = form.querySelector<HTMLElement>(`#${id}-error`);
      const k = errs[id];
      if (el) el.textContent = k ? tr(k) : '';
    }
    if (Object.keys(errs).length > 0) return;
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    showError(form, tr('provision.working'));
    void api
      .provision({ passphrase: f.passphrase, supervisorId: f.supervisorId, supervisorName: f.supervisorName.trim(), supervisorPin: f.pin })
      .then((r) => {
        if (button) button.disabled = false;
        if (r.ok && r.data) apply(r.data);
        else showError(form, faultMessage(lang, r.error));
      });
  });
  return form;
}

function loggedIn(): HTMLElement {
  switch (current) {
    case 'enroll':
      return enrollScreen(ctx());
    case 'queue':
      return queuePanel(ctx());
    case 'devices':
      return devicesPanel(ctx());
    case 'officers':
      return officersPanel(ctx());
    case 'history':
      return historyPanel(ctx());
    case 'ops':
      return opsScreen(ctx());
    case 'settings':
      return session?.officer?.role === 'supervisor' ? settingsScreen(ctx()) : homeScreen();
    default:
      return homeScreen();
  }
}

function nav(): HTMLElement {
  const item = (v: View | OpsView | SettingsView, k: Key): HTMLElement =>
    h('button', { type: 'button', class: v === current ? 'tab active' : 'tab', 'data-view': v, onclick: () => navigate(v) }, tr(k));
  const supervisor = session?.officer?.role === 'supervisor';
  return h(
    'nav',
    {},
    item('home', 'nav.home'),
    item('enroll', 'nav.enroll'),
    item('queue', 'nav.queue'),
    item('devices', 'nav.devices'),
    item('history', 'nav.history'),
    item('ops', 'nav.ops'),
    ...(supervisor ? [item('officers', 'nav.officers'), item('settings', 'nav.settings')] : []),
  );
}

function unlockPanel(): HTMLElement {
  if (session?.unlocked) return h('p', { class: 'verdict ok', id: 'unlocked' }, tr('unlock.done'));
  const form = h(
    'form',
    { class: 'unlock', id: 'unlock-form', novalidate: true },
    h('h2', {}, tr('unlock.heading')),
    h('p', { class: 'muted' }, tr('unlock.intro')),
    field('unlock-passphrase', tr('unlock.passphrase'), 'password'),
    h('div', { class: 'form-error', role: 'alert' }),
    h('button', { type: 'submit' }, tr('unlock.submit')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void call<SessionState>('Session', 'UnlockDesk', inputValue(form, 'unlock-passphrase')).then((r) => {
      if (r.ok && r.data) {
        apply(r.data);
        render();
      } else showError(form, faultMessage(lang, r.error));
    });
  });
  return form;
}

function homeScreen(): HTMLElement {
  const o = session?.officer;
  return h(
    'section',
    { class: 'card', id: 'home' },
    h('h1', {}, tr('home.heading')),
    h('p', {}, tr('home.welcome', { name: o?.name ?? '' })),
    h('p', { class: 'muted' }, tr('home.today', { date: formatDate(new Date()) })),
    h('p', { class: 'empty', id: 'home-empty' }, tr('home.empty')),
    unlockPanel(),
    freezeBanner(ctx()),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'primary', id: 'start-enrollment', onclick: () => navigate('enroll') }, tr('home.start')),
    ),
  );
}

async function boot(): Promise<void> {
  render();
  onEvent<SessionState>('session:changed', (s) => apply(s));
  const r = await api.state();
  if (r.ok && r.data) {
    apply(r.data);
    return;
  }
  root.replaceChildren(
    header(),
    h(
      'main',
      { 'data-screen': 'error' },
      h('p', { class: 'form-error', role: 'alert' }, faultMessage(lang, r.error)),
      h('button', { type: 'button', onclick: () => void boot() }, tr('common.retry')),
    ),
  );
}

void boot();
