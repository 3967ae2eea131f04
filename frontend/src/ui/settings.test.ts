import { describe, expect, it } from 'vitest';
import { changedThresholds, parseDevices, thresholdId } from './settings';

const stored = [
  { key: 'thresholds.face_min_quality', value: 0.5 },
  { key: 'thresholds.finger_min_quality', value: 40 },
];

describe('thresholds form', () => {
  it('sends only what changed, a decimal comma included, and leaves blanks alone', () => {
    expect(changedThresholds(stored, { 'thresholds.face_min_quality': '0,5', 'thresholds.finger_min_quality': '40' })).toEqual({});
    expect(changedThresholds(stored, { 'thresholds.face_min_quality': '0,65', 'thresholds.finger_min_quality': '' })).toEqual({
      'thresholds.face_min_quality': '0,65',
    });
    // Not a number goes to the backend, which names the field in its answer.
    expect(changedThresholds(stored, { 'thresholds.finger_min_quality': 'cao' })).toEqual({ 'thresholds.finger_min_quality': 'cao' });
  });
  it('input ids have no dots', () => {
    expect(thresholdId('thresholds.face_min_quality')).toBe('th-face_min_quality');
  });
});

describe('devices form', () => {
  it('reads numbers (blank = default) and trims text', () => {
    expect(
      parseDevices({ cameraSource: ' /dev/video0 ', cameraWidth: '1280', cameraHeight: '720', sensorPort: '', sensorBaud: '', readerName: ' ACS ' }),
    ).toEqual({ cameraSource: '/dev/video0', cameraWidth: 1280, cameraHeight: 720, sensorPort: '', sensorBaud: 0, readerName: 'ACS' });
    // Garbage becomes -1 so the backend refuses it by name rather than silently using the default.
    expect(parseDevices({ cameraSource: '', cameraWidth: 'rộng', cameraHeight: '', sensorPort: '', sensorBaud: '57600', readerName: '' })).toMatchObject({
      cameraWidth: -1,
      sensorBaud: 57600,
    });
  });
});
