import { describe, expect, it } from 'vitest';
import { TABLES, placeholders, t } from './i18n';

describe('translations', () => {
  const vi = TABLES.vi;
  const en = TABLES.en;
  it('has the same keys and placeholders in both languages, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(vi).sort());
    for (const k of Object.keys(vi) as (keyof typeof vi)[]) {
      expect(vi[k].trim(), k).not.toBe('');
      expect(en[k].trim(), k).not.toBe('');
      expect(placeholders(en[k]), k).toEqual(placeholders(vi[k]));
    }
  });
  it('writes Vietnamese with precomposed diacritics (NFC), as fonts and OCR expect', () => {
    for (const s of Object.values(vi)) expect(s).toBe(s.normalize('NFC'));
    expect(vi['login.heading']).toBe('Đăng nhập');
  });
  it('actually translates: English strings hold no Vietnamese letters except the language name', () => {
    const vietnamese = /[ăâđêôơưĂÂĐÊÔƠƯ]|[àáảãạèéẻẽẹìíỉĩịòóỏõọùúủũụỳýỷỹỵ]/;
    for (const [k, s] of Object.entries(en)) {
      if (k === 'lang.vi') continue;
      expect(vietnamese.test(s), `${k}: ${s}`).toBe(false);
    }
  });
  it('fills placeholders and leaves unknown ones visible', () => {
    expect(t('en', 'home.welcome', { name: 'Lan' })).toBe('Welcome, Lan');
    expect(t('vi', 'home.welcome', { name: 'Lan' })).toBe('Xin chào, Lan');
    expect(t('en', 'home.welcome')).toBe('Welcome, {name}');
  });
});
