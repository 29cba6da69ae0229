import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { descriptorSetFile, protoFile } from '@pulse/contracts';
import { readFileSync } from 'node:fs';
import * as protobuf from 'protobufjs';
import * as descriptor from 'protobufjs/ext/descriptor';

interface FileIndex {
  /** Raw FileDescriptorProto bytes, exactly as Buf compiled them (source comments included). */
  byName: Map<string, Buffer>;
  dependencies: Map<string, string[]>;
  /** Fully-qualified symbol (message, enum, service, method) → file name. */
  fileOfSymbol: Map<string, string>;
  /** Fully-qualified service → its methods, in proto order. */
  methodsOfService: Map<string, ProtoMethod[]>;
}

/** One RPC of a service as the proto declares it. */
export interface ProtoMethod {
  /** As in the proto, e.g. `PromoteModel`. */
  name: string;
  clientStreaming: boolean;
  serverStreaming: boolean;
}

let cachedIndex: FileIndex | undefined;

/**
 * Splits the FileDescriptorSet that `buf build` writes (proto/descriptor_set.binpb) into its files,
 * keeping each file's bytes untouched, and indexes their symbols.
 */
function loadIndex(): FileIndex {
  if (cachedIndex) return cachedIndex;
  const set = readFileSync(descriptorSetFile());
  const reader = protobuf.Reader.create(set);
  const index: FileIndex = { byName: new Map(), dependencies: new Map(), fileOfSymbol: new Map(), methodsOfService: new Map() };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      reader.skipType(tag & 7);
      continue;
    }
    const bytes = Buffer.from(reader.bytes());
    const file = descriptor.FileDescriptorProto.decode(bytes) as any;
    index.byName.set(file.name, bytes);
    index.dependencies.set(file.name, file.dependency ?? []);
    const prefix = file.package ? `${file.package}.` : '';
    const addMessages = (messages: any[] | undefined, scope: string) => {
      for (const m of messages ?? []) {
        index.fileOfSymbol.set(scope + m.name, file.name);
        addMessages(m.nestedType, `${scope}${m.name}.`);
        for (const e of m.enumType ?? []) index.fileOfSymbol.set(`${scope}${m.name}.${e.name}`, file.name);
      }
    };
    addMessages(file.messageType, prefix);
    for (const e of file.enumType ?? []) index.fileOfSymbol.set(prefix + e.name, file.name);
    for (const s of file.service ?? []) {
      index.fileOfSymbol.set(prefix + s.name, file.name);
      index.methodsOfService.set(
        prefix + s.name,
        (s.method ?? []).map((m: any) => ({ name: m.name, clientStreaming: !!m.clientStreaming, serverStreaming: !!m.serverStreaming })),
      );
      for (const m of s.method ?? []) index.fileOfSymbol.set(`${prefix}${s.name}.${m.name}`, file.name);
    }
  }
  return (cachedIndex = index);
}

/** The RPCs of a fully-qualified service (e.g. `pulse.recs.v1.RecsService`) from Buf's descriptor set; empty when unknown. */
export function protoMethods(service: string): ProtoMethod[] {
  return loadIndex().methodsOfService.get(service) ?? [];
}

/** The file and everything it imports, transitively, dependencies first. */
function withDependencies(index: FileIndex, name: string): Buffer[] {
  const seen = new Set<string>();
  const out: Buffer[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const dep of index.dependencies.get(file) ?? []) visit(dep);
    const bytes = index.byName.get(file);
    if (bytes) out.push(bytes);
  };
  visit(name);
  return out;
}

const NOT_FOUND = grpc.status.NOT_FOUND;

function answer(index: FileIndex, services: readonly string[], request: any): any {
  const base = { validHost: request.host ?? '', originalRequest: request };
  const notFound = (what: string) => ({ ...base, errorResponse: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } });
  switch (request.messageRequest) {
    case 'listServices':
      return { ...base, listServicesResponse: { service: services.map((name) => ({ name })) } };
    case 'fileByFilename': {
      const name = request.fileByFilename;
      return index.byName.has(name)
        ? { ...base, fileDescriptorResponse: { fileDescriptorProto: withDependencies(index, name) } }
        : notFound(`file ${name}`);
    }
    case 'fileContainingSymbol': {
      const symbol = String(request.fileContainingSymbol).replace(/^\./, '');
      const file = index.fileOfSymbol.get(symbol);
      return file
        ? { ...base, fileDescriptorResponse: { fileDescriptorProto: withDependencies(index, file) } }
        : notFound(`symbol ${symbol}`);
    }
    case 'fileContainingExtension':
      return notFound('extension');
    case 'allExtensionNumbersOfType':
      return { ...base, allExtensionNumbersResponse: { baseTypeName: request.allExtensionNumbersOfType, extensionNumber: [] } };
    default:
      return { ...base, errorResponse: { errorCode: grpc.status.INVALID_ARGUMENT, errorMessage: 'unsupported reflection request' } };
  }
}

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) served from Buf's compiled descriptors, so
 * grpcurl sees the protos exactly as written: snake_case fields, map entries and the well-known types
 * (which @grpc/reflection, built on proto-loader's descriptors, fails to resolve: grpc-node#2958).
 */
export function addServerReflection(server: grpc.Server, serviceNames: readonly string[]): void {
  const index = loadIndex();
  const services = [
    ...serviceNames,
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
    'grpc.reflection.v1alpha.ServerReflection',
  ];
  for (const version of ['v1', 'v1alpha']) {
    const definition = protoLoader.loadSync(protoFile(`grpc/reflection/${version}/reflection.proto`), {
      keepCase: false,
      longs: Number,
      enums: Number,
      defaults: false,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(definition) as any;
    server.addService(pkg.grpc.reflection[version].ServerReflection.service, {
      serverReflectionInfo: (call: grpc.ServerDuplexStream<any, any>) => {
        call.on('data', (request) => call.write(answer(index, services, request)));
        call.on('end', () => call.end());
        call.on('error', () => undefined);
      },
    });
  }
}
