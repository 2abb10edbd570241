// Endpoint URLs: https anywhere, plain http only on loopback (and IMDS's own addresses for instance metadata).
import { describe, expect, it } from 'vitest';
import { endpointProblem } from '../../src/aws/endpoint-url.ts';

describe('endpointProblem', () => {
  it('accepts https anywhere and http on loopback', () => {
    for (const ok of ['https://ssm.eu-west-1.amazonaws.com', 'https://vpce-1.ssm.eu-west-1.vpce.amazonaws.com:443/', 'http://127.0.0.1:4566',
      'http://127.9.8.7', 'http://localhost:1', 'http://LOCALHOST', 'http://[::1]:8080', 'http://2130706433']) {
      expect(endpointProblem(ok), ok).toBeUndefined();
    }
  });

  it('refuses http to any other host: the answer carries the key, the request a signature', () => {
    for (const bad of ['http://10.0.2.2:4566', 'http://ssm.example.com', 'http://169.254.169.254', 'http://[fd00:ec2::254]', 'http://128.0.0.1', 'http://localhost.evil.com']) {
      expect(endpointProblem(bad), bad).toBe('uses http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost): use https://');
    }
  });

  it('for instance metadata, also accepts its link-local addresses', () => {
    expect(endpointProblem('http://169.254.169.254', { imds: true })).toBeUndefined();
    expect(endpointProblem('http://[fd00:ec2::254]', { imds: true })).toBeUndefined();
    expect(endpointProblem('http://169.254.169.253', { imds: true })).toMatch(/neither loopback nor instance metadata/);
  });

  it('refuses what is not a plain URL', () => {
    expect(endpointProblem('ftp://127.0.0.1')).toBe('is not an http:// or https:// URL');
    expect(endpointProblem('https://user:pw@ssm.example.com')).toBe('must not contain credentials');
    expect(endpointProblem('https://ssm.example.com/?x=1')).toBe('must not have a query or fragment');
  });
});
