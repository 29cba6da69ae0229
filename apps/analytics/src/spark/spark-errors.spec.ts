import { Metadata, status } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { parseSparkRemote } from './spark-connect.client';
import { classifySparkFailure, sparkErrorFromGrpc } from './spark-errors';

/** A gRPC error as Spark Connect sends it: google.rpc.Status with an ErrorInfo in grpc-status-details-bin. */
function sparkGrpcError(code: number, message: string, info: Record<string, string>) {
  const root = protobuf.Root.fromJSON({
    nested: {
      Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } },
      Status: {
        fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'Any', id: 3 } },
      },
      ErrorInfo: {
        fields: {
          reason: { type: 'string', id: 1 },
          domain: { type: 'string', id: 2 },
          metadata: { keyType: 'string', type: 'string', id: 3 } as protobuf.IMapField,
        },
      },
    },
  });
  const errorInfo = root
    .lookupType('ErrorInfo')
    .encode({ reason: 'org.apache.spark.SparkException', domain: 'org.apache.spark', metadata: info })
    .finish();
  const details = root
    .lookupType('Status')
    .encode({ code, message, details: [{ type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: errorInfo }] })
    .finish();
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', Buffer.from(details));
  return Object.assign(new Error(message), { code, details: message, metadata });
}

describe('sparkErrorFromGrpc', () => {
  it("reads Spark's error class, SQLSTATE and exception classes from the status details", () => {
    const error = sparkErrorFromGrpc(
      sparkGrpcError(status.INTERNAL, '[PATH_NOT_FOUND] Path does not exist: /lake/x. SQLSTATE: 42K03', {
        errorClass: 'PATH_NOT_FOUND',
        sqlState: '42K03',
        classes: '["org.apache.spark.sql.AnalysisException","java.lang.Exception"]',
      }),
      'SQL',
    );
    expect(error.kind).toBe('input_missing');
    expect(error.details).toEqual({
      grpcCode: status.INTERNAL,
      errorClass: 'PATH_NOT_FOUND',
      sqlState: '42K03',
      classes: ['org.apache.spark.sql.AnalysisException', 'java.lang.Exception'],
    });
    expect(error.message).toBe('[PATH_NOT_FOUND] Path does not exist: /lake/x. SQLSTATE: 42K03');
  });

  it('says how to start Spark when the server does not answer', () => {
    const error = sparkErrorFromGrpc(
      Object.assign(new Error('14 UNAVAILABLE'), { code: status.UNAVAILABLE, details: 'No connection established' }),
      'SQL',
    );
    expect(error.kind).toBe('unavailable');
    expect(error.message).toMatch(/did not answer SQL: No connection established \(start it: tools\/stack\/stack up spark\)/);
  });

  it('keeps the first lines of an analysis error, not the plan Spark appends', () => {
    const long =
      "[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column `nocol` cannot be resolved. SQLSTATE: 42703\n'Project ['nocol]\n+- Range (0, 1)\n+- more\n+- and more";
    const error = sparkErrorFromGrpc(
      sparkGrpcError(status.INTERNAL, long, { errorClass: 'UNRESOLVED_COLUMN.WITH_SUGGESTION', sqlState: '42703' }),
      'SQL',
    );
    expect(error.kind).toBe('spark_error');
    expect(error.message.split('+-')).toHaveLength(2);
  });
});

describe('classifySparkFailure', () => {
  it('tells bad data (SQLSTATE class 22, raised errors) from missing inputs, memory and other failures', () => {
    expect(classifySparkFailure({ errorClass: 'CAST_INVALID_INPUT', sqlState: '22018', message: '' })).toBe('bad_input');
    expect(classifySparkFailure({ errorClass: 'DIVIDE_BY_ZERO', sqlState: '22012', message: '' })).toBe('bad_input');
    expect(classifySparkFailure({ errorClass: 'USER_RAISED_EXCEPTION', sqlState: 'P0001', message: '' })).toBe('bad_input');
    expect(classifySparkFailure({ errorClass: 'DELTA_TABLE_ONLY_OPERATION', message: '' })).toBe('input_missing');
    expect(classifySparkFailure({ classes: ['java.lang.OutOfMemoryError'], message: '' })).toBe('out_of_memory');
    expect(classifySparkFailure({ message: 'Job aborted: java.lang.OutOfMemoryError: Java heap space' })).toBe('out_of_memory');
    expect(classifySparkFailure({ grpcCode: status.CANCELLED, message: '' })).toBe('cancelled');
    expect(classifySparkFailure({ grpcCode: status.DEADLINE_EXCEEDED, message: '' })).toBe('unavailable');
    expect(classifySparkFailure({ errorClass: 'UNRESOLVED_COLUMN', sqlState: '42703', message: '' })).toBe('spark_error');
  });
});

describe('parseSparkRemote', () => {
  it('reads host, port and parameters of a Spark Connect address', () => {
    expect(parseSparkRemote('sc://127.0.0.1:25002')).toEqual({
      host: '127.0.0.1',
      port: 25002,
      userId: 'pulse',
      token: undefined,
      useSsl: false,
    });
    expect(parseSparkRemote('sc://spark.example.org/;user_id=etl;token=abc')).toEqual({
      host: 'spark.example.org',
      port: 15002,
      userId: 'etl',
      token: 'abc',
      useSsl: true,
    });
  });

  it('refuses what is not a Spark Connect address', () => {
    expect(() => parseSparkRemote('http://localhost:15002')).toThrow(/not a Spark Connect address/);
    expect(() => parseSparkRemote('sc://host:99999')).toThrow(/out of range/);
    expect(() => parseSparkRemote('sc://host/;oops')).toThrow(/not name=value/);
  });
});
