// The one door to the Go backend. Inside the Wails window the bound structs are on window.go.app;
// in a plain browser (end-to-end tests, development) the same methods are reached through the HTTP
// bridge (desk/app.Bridge) at /api/{Struct}/{Method}. Both answer the same Response envelope.

export interface Fault {
  code: string;
  message: string;
  params?: Record<string, string>;
}

export interface Response<T> {
  ok: boolean;
  data?: T;
  error?: Fault;
}

export interface Officer {
  id: string;
  name: string;
  role: 'officer' | 'supervisor';
}

export interface SessionState {
  provisioned: boolean;
  deskId?: string;
  officer?: Officer;
  language: string;
  unlocked?: boolean;
}

export interface ProvisionRequest {
  passphrase: string;
  supervisorId: string;
  supervisorName: string;
  supervisorPin: string;
}

type Bound = (...args: unknown[]) => Promise<unknown>;

declare global {
  interface Window {
    go?: { app?: Record<string, Record<string, Bound | undefined> | undefined> };
    runtime?: { EventsOn?: (name: string, cb: (data: unknown) => void) => () => void };
  }
}

/** call invokes Struct.Method on the backend and never throws: transport failures become a fault. */
export async function call<T>(struct: string, method: string, ...args: unknown[]): Promise<Response<T>> {
  try {
    const bound = window.go?.app?.[struct]?.[method];
    if (bound) return (await bound(...args)) as Response<T>;
    const r = await fetch(`/api/${struct}/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(args),
    });
    if (!r.ok) return { ok: false, error: { code: 'internal', message: await r.text() } };
    return (await r.json()) as Response<T>;
  } catch (e) {
    return { ok: false, error: { code: 'unreachable', message: String(e) } };
  }
}

let source: EventSource | null = null;

/** onEvent subscribes to a backend event; it returns the function that unsubscribes. */
export function onEvent<T>(name: string, cb: (data: T) => void): () => void {
  const on = window.runtime?.EventsOn;
  if (on) return on(name, (d) => cb(d as T));
  if (typeof EventSource === 'undefined') return () => undefined;
  source ??= new EventSource('/api/events');
  const listener = (e: MessageEvent<string>): void => cb(JSON.parse(e.data) as T);
  source.addEventListener(name, listener as EventListener);
  return () => source?.removeEventListener(name, listener as EventListener);
}

export const api = {
  state: () => call<SessionState>('Session', 'State'),
  uiReady: (screen: string) => call<null>('Session', 'UIReady', screen),
  provision: (req: ProvisionRequest) => call<SessionState>('Session', 'Provision', req),
  login: (officerId: string, pin: string) => call<SessionState>('Session', 'Login', officerId, pin),
  logout: () => call<SessionState>('Session', 'Logout'),
  setLanguage: (lang: string) => call<SessionState>('Session', 'SetLanguage', lang),
};
