/** The conntrack tool's text (src/sync/kernel/conntrack-parse.ts): listing lines, summaries, exit codes. */
import { conntrackMessage, ConntrackError, deleteOutcome, parseFlowLine, summaryCount } from '../../src/sync/kernel/conntrack-parse.js';

describe('parseFlowLine', () => {
  test.each([
    ['extended, unreplied', 'ipv4     2 udp      17 29 src=10.0.0.1 dst=10.96.0.10 sport=40000 dport=53 [UNREPLIED] src=10.244.1.5 dst=10.0.0.1 sport=5353 dport=40000 mark=0 use=1',
      { family: 'ipv4', origSrc: '10.0.0.1', origDst: '10.96.0.10', origSport: 40000, origDport: 53, replySrc: '10.244.1.5', replySport: 5353 }],
    ['plain, assured, zone and id', 'udp      17 119 src=10.0.0.1 dst=10.96.0.10 sport=1 dport=53 src=10.244.1.5 dst=10.0.0.1 sport=5353 dport=1 [ASSURED] mark=0 zone=3 use=1 id=3254006302',
      { family: 'ipv4', origSrc: '10.0.0.1', origDst: '10.96.0.10', origSport: 1, origDport: 53, replySrc: '10.244.1.5', replySport: 5353 }],
    ['ipv6, canonical text', 'ipv6     10 udp      17 99 src=fd00::1 dst=fd00:96:0:0::a sport=4000 dport=53 [UNREPLIED] src=fd00:244::5 dst=fd00::1 sport=8053 dport=4000 mark=0 use=1',
      { family: 'ipv6', origSrc: 'fd00::1', origDst: 'fd00:96::a', origSport: 4000, origDport: 53, replySrc: 'fd00:244::5', replySport: 8053 }],
  ])('%s', (_n, line, want) => {
    expect(parseFlowLine(line)).toEqual(want);
  });

  test.each([
    ['tcp', 'ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1 [ASSURED] mark=0 use=1'],
    ['summary line', 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.'],
    ['no reply tuple', 'udp 17 29 src=10.0.0.1 dst=10.96.0.10 sport=1 dport=53'],
    ['bad port', 'udp 17 29 src=10.0.0.1 dst=10.96.0.10 sport=1 dport=70000 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1'],
    ['mixed families', 'udp 17 29 src=10.0.0.1 dst=fd00::1 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1'],
    ['head says ipv6, addresses ipv4', 'ipv6 10 udp 17 29 src=10.0.0.1 dst=10.0.0.3 sport=1 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1'],
    ['garbage', 'udp src=a dst=b'],
    ['empty', ''],
  ])('not a UDP flow: %s', (_n, line) => {
    expect(parseFlowLine(line)).toBeUndefined();
  });
});

describe('conntrack summaries and errors', () => {
  test('counts', () => {
    expect(summaryCount('conntrack v1.4.7 (conntrack-tools): 12 flow entries have been deleted.\n', 'deleted')).toBe(12);
    expect(summaryCount('conntrack v1.4.7 (conntrack-tools): 12 flow entries have been shown.\n', 'deleted')).toBeUndefined();
  });

  test('"0 flow entries have been deleted" with exit 1 is not an error', () => {
    expect(deleteOutcome(['-D'], 1, 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n')).toBe(0);
    expect(deleteOutcome(['-D'], 0, 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n')).toBe(3);
  });

  test('anything else failing is a ConntrackError with conntrack\'s message', () => {
    const e = deleteOutcome(['-D', '-p', 'udp'], 1, 'conntrack v1.4.7 (conntrack-tools): Operation not permitted\n');
    expect(e).toBeInstanceOf(ConntrackError);
    expect((e as ConntrackError).message).toBe('conntrack -D -p udp failed (exit 1): Operation not permitted');
    expect(deleteOutcome(['-D'], 2, '')).toBeInstanceOf(ConntrackError);
    expect(conntrackMessage('')).toBe('(no message)');
  });
});
