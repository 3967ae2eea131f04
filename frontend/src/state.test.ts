import { describe, expect, it } from 'vitest';
import { formatDate, formatTime } from './format';
import { faultMessage, loginReady, screenFor, syncProblemMessage, validateProvision, type ProvisionForm } from './state';

describe('screenFor', () => {
  it('walks loading → provision → login → home', () => {
    expect(screenFor(null)).toBe('loading');
    expect(screenFor({ provisioned: false, language: 'vi' })).toBe('provision');
    expect(screenFor({ provisioned: true, deskId: 'D1', language: 'vi' })).toBe('login');
    expect(
      screenFor({ provisioned: true, deskId: 'D1', language: 'vi', officer: { id: 'a1', name: 'A', role: 'officer' } }),
    ).toBe('home');
  });
});

describe('faultMessage', () => {
  it('names the lock end in local dd/mm/yyyy HH:MM', () => {
    const until = new Date(2026, 10, 23, 14, 5);
    const msg = faultMessage('vi', { code: 'locked', message: '', params: { until: until.toISOString() } });
    expect(msg).toContain(formatTime(until));
    expect(msg).toContain(formatDate(until));
    expect(msg).toContain('tạm khóa');
    expect(faultMessage('en', { code: 'locked', message: '', params: { until: until.toISOString() } })).toContain(
      'locked',
    );
  });
  it('translates known codes, falls back for unknown ones and for a missing fault', () => {
    expect(faultMessage('vi', { code: 'wrong_pin', message: 'x' })).toBe('Mã cán bộ hoặc mã PIN không đúng.');
    expect(faultMessage('en', { code: 'wrong_pin', message: 'x' })).toBe('Wrong officer ID or PIN.');
    expect(faultMessage('en', { code: 'no_such_code', message: 'x' })).toMatch(/went wrong/);
    expect(faultMessage('en', undefined)).toMatch(/went wrong/);
  });
  it('names the device that is missing or stopped answering', () => {
    expect(faultMessage('vi', { code: 'device_missing', message: '', params: { device: 'sensor' } })).toBe(
      'Không tìm thấy máy quét vân tay. Kiểm tra cáp USB rồi bấm Thử lại.',
    );
    expect(faultMessage('en', { code: 'timeout', message: '', params: { device: 'camera' } })).toMatch(/camera stopped answering/);
    expect(faultMessage('en', { code: 'timeout', message: '', params: { device: 'printer' } })).toMatch(/device stopped answering/);
  });
  it('points at the field the backend refused', () => {
    expect(faultMessage('en', { code: 'invalid', message: '', params: { field: 'pin' } })).toMatch(/6–12 digits/);
  });
});

describe('validateProvision', () => {
  const good: ProvisionForm = {
    passphrase: 'mật khẩu bàn số 1',
    passphrase2: 'mật khẩu bàn số 1',
    supervisorId: 'gs.nguyen',
    supervisorName: 'Nguyễn Thị Lan',
    pin: '135790',
    pin2: '135790',
  };
  it('accepts a good form', () => {
    expect(validateProvision(good)).toEqual({});
  });
  it('flags each bad field', () => {
    expect(validateProvision({ ...good, passphrase: 'ngắn', passphrase2: 'ngắn' })).toEqual({
      passphrase: 'field.passphraseShort',
    });
    expect(validateProvision({ ...good, passphrase2: 'other passphrase' })).toEqual({
      passphrase2: 'field.passphraseMismatch',
    });
    expect(validateProvision({ ...good, supervisorId: 'có dấu' })).toEqual({ supervisorId: 'field.officerId' });
    expect(validateProvision({ ...good, supervisorName: ' A ' })).toEqual({ supervisorName: 'field.name' });
    expect(validateProvision({ ...good, pin: '12a456', pin2: '12a456' })).toEqual({ pin: 'field.pin' });
    expect(validateProvision({ ...good, pin2: '135791' })).toEqual({ pin2: 'field.pinMismatch' });
  });
  it('counts characters, not UTF-16 units or bytes, for the passphrase', () => {
    // 12 Vietnamese letters are 12 characters even though they take more bytes.
    expect(validateProvision({ ...good, passphrase: 'ăâđêôơưăâđêô', passphrase2: 'ăâđêôơưăâđêô' })).toEqual({});
  });
});

describe('loginReady', () => {
  it('needs both fields', () => {
    expect(loginReady('', '123456')).toBe(false);
    expect(loginReady('a1', '')).toBe(false);
    expect(loginReady(' a1 ', '123456')).toBe(true);
  });
});

describe('syncProblemMessage', () => {
  const q = { queued: 1, sent: 0, acked: 0, uploading: true };
  it('is silent after a successful sync', () => {
    expect(syncProblemMessage('vi', q)).toBeNull();
    expect(syncProblemMessage('vi', { ...q, problem: '' })).toBeNull();
  });
  it('explains an outage in Vietnamese without the raw network error', () => {
    const msg = syncProblemMessage('vi', { ...q, problem: 'unreachable', lastError: 'dial tcp 127.0.0.1:1: connect: connection refused' });
    expect(msg).toContain('Không kết nối được máy chủ đăng ký');
    expect(msg).not.toContain('dial tcp');
  });
  it('names the registry refusal reason, and falls back for an unknown one', () => {
    expect(syncProblemMessage('vi', { ...q, problem: 'refused', reason: 'broken-chain' })).toBe(
      'Máy chủ đăng ký từ chối lô hồ sơ: chuỗi hồ sơ bị đứt. Báo cho cán bộ giám sát.',
    );
    expect(syncProblemMessage('en', { ...q, problem: 'refused', reason: 'made-up' })).toBe(
      'The registry refused the batch: another reason. Tell a supervisor.',
    );
  });
  it('has a message for every problem class', () => {
    for (const p of ['unreachable', 'timeout', 'tls', 'other', 'something-new']) {
      expect(syncProblemMessage('en', { ...q, problem: p })).toMatch(/\S/);
    }
  });
});
