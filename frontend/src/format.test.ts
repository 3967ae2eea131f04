import { describe, expect, it } from 'vitest';
import { formatDate, formatTime, parseDate } from './format';

describe('dates', () => {
  it('formats dd/mm/yyyy with leading zeros', () => {
    expect(formatDate(new Date(2026, 0, 5))).toBe('05/01/2026');
    expect(formatDate(new Date(1999, 11, 31))).toBe('31/12/1999');
  });
  it('formats 24-hour time', () => {
    expect(formatTime(new Date(2026, 0, 5, 7, 3))).toBe('07:03');
    expect(formatTime(new Date(2026, 0, 5, 19, 45))).toBe('19:45');
  });
  it('parses dd/mm/yyyy and refuses impossible dates', () => {
    const d = parseDate('29/02/2024');
    expect(d && formatDate(d)).toBe('29/02/2024');
    expect(parseDate('29/02/2023')).toBeNull();
    expect(parseDate('31/04/2024')).toBeNull();
    expect(parseDate('2024-02-01')).toBeNull();
    expect(parseDate('1/2/2024') && formatDate(parseDate('1/2/2024') as Date)).toBe('01/02/2024');
  });
});
