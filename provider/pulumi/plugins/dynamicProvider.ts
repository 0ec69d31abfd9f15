/**
 * The dynamic-provider protocol (`pulumi-nodejs`): the engine's ResourceProvider gRPC service, which
 * evaluates the provider code each resource stores in `__provider` and calls it, as the SDK's
 * `cmd/dynamic-provider` does. Ours loads gRPC and the protocol's messages only, not the whole SDK (and
 * with it the TypeScript compiler): about 60 MiB less per process that runs it.
 *
 * Two ways to run it: the scaler serves it in its own process, sharing its VPSie client, and the engine
 * attaches to it (PULUMI_DEBUG_PROVIDERS), so an update is two processes, the scaler and the engine;
 * and `pulumi-resource-pulumi-nodejs` (dynamicProviderHost.ts) serves it as the plugin a person's
 * `pulumi up` starts.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { runInThisContext } from "node:vm";
import * as grpc from "@grpc/grpc-js";
import type * as providerGrpcTypes from "@pulumi/pulumi/proto/provider_grpc_pb.js";
import type * as providerPbTypes from "@pulumi/pulumi/proto/provider_pb.js";
import type * as pluginPbTypes from "@pulumi/pulumi/proto/plugin_pb.js";
import type * as pulumi from "@pulumi/pulumi";
import type * as emptyPbTypes from "google-protobuf/google/protobuf/empty_pb.js";
import type * as structPbTypes from "google-protobuf/google/protobuf/struct_pb.js";
import { HOSTED_PROVIDERS } from "../types.js";

// The protocol's messages and its protobuf runtime, resolved as the SDK resolves them.
const fromSdk = createRequire(createRequire(import.meta.url).resolve("@pulumi/pulumi/package.json"));
const providerGrpc = fromSdk("./proto/provider_grpc_pb.js") as typeof providerGrpcTypes;
const providerPb = fromSdk("./proto/provider_pb.js") as typeof providerPbTypes;
const pluginPb = fromSdk("./proto/plugin_pb.js") as typeof pluginPbTypes;
const emptyPb = fromSdk("google-protobuf/google/protobuf/empty_pb.js") as typeof emptyPbTypes;
const structPb = fromSdk("google-protobuf/google/protobuf/struct_pb.js") as typeof structPbTypes;
const sdkVersion = (fromSdk("./package.json") as { version: string }).version;

const PROVIDER_KEY = "__provider";
/** What the engine sends for a value not known yet (during a preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

type Props = Record<string, unknown>;
type Unary<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/** Evaluates a resource's provider code as CommonJS, with `require` rooted in the project directory. */
function evaluate(text: string, programDirectory: string): pulumi.dynamic.ResourceProvider {
  const module = { exports: {} as { handler?: () => pulumi.dynamic.ResourceProvider } };
  const wrapper = runInThisContext(`(function (exports, require, module) {\n${text}\n})`) as (
    exports: object,
    require: NodeJS.Require,
    module: object,
  ) => void;
  wrapper(module.exports, createRequire(join(programDirectory, "Pulumi.yaml")), module);
  if (typeof module.exports.handler !== "function")
    throw new Error("the resource's __provider code exports no handler");
  return module.exports.handler();
}

/** Struct values cannot be undefined: such properties are simply absent. */
function struct(value: Props): structPbTypes.Struct {
  return structPb.Struct.fromJavaScript(JSON.parse(JSON.stringify(value)) as Record<string, never>);
}

function grpcError(err: unknown): grpc.ServiceError {
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(message), {
    code: grpc.status.UNKNOWN,
    details: message,
    metadata: new grpc.Metadata(),
  });
}

const unimplemented = (what: string) => (_call: unknown, done: (err: grpc.ServiceError) => void) =>
  done(
    Object.assign(new Error(`${what} is not implemented by the dynamic provider`), {
      code: grpc.status.UNIMPLEMENTED,
      details: `${what} is not implemented by the dynamic provider`,
      metadata: new grpc.Metadata(),
    }),
  );

function service(programDirectory: string): grpc.UntypedServiceImplementation {
  const cache = new Map<string, pulumi.dynamic.ResourceProvider>();
  const providerOf = (props: Props): pulumi.dynamic.ResourceProvider => {
    const text = props[PROVIDER_KEY];
    if (typeof text !== "string") throw new Error("the resource carries no __provider code");
    let provider = cache.get(text);
    if (!provider) {
      provider = evaluate(text, programDirectory);
      cache.set(text, provider);
    }
    return provider;
  };
  const withProvider = (result: Props | undefined, props: Props): Props => ({
    ...result,
    [PROVIDER_KEY]: props[PROVIDER_KEY],
  });
  const handle =
    <Req, Res>(work: (request: Req) => Promise<Res>): Unary<Req, Res> =>
    (call, done) => {
      work(call.request).then(
        (response) => done(null, response),
        (err: unknown) => done(grpcError(err)),
      );
    };

  const check = handle(async (req: providerPbTypes.CheckRequest) => {
    const olds = (req.getOlds()?.toJavaScript() ?? {}) as Props;
    const news = (req.getNews()?.toJavaScript() ?? {}) as Props;
    const provider = providerOf(news[PROVIDER_KEY] === UNKNOWN ? olds : news);
    const result = provider.check ? await provider.check(olds, news) : { inputs: news, failures: [] };
    const inputs = (result.inputs ?? news) as Props;
    const response = new providerPb.CheckResponse();
    response.setInputs(struct({ ...inputs, [PROVIDER_KEY]: news[PROVIDER_KEY] }));
    response.setFailuresList(
      (result.failures ?? []).map((f) => {
        const failure = new providerPb.CheckFailure();
        failure.setProperty(f.property);
        failure.setReason(f.reason);
        return failure;
      }),
    );
    return response;
  });

  const diff = handle(async (req: providerPbTypes.DiffRequest) => {
    const olds = (req.getOlds()?.toJavaScript() ?? {}) as Props;
    const news = (req.getNews()?.toJavaScript() ?? {}) as Props;
    const provider = providerOf(news[PROVIDER_KEY] === UNKNOWN ? olds : news);
    const response = new providerPb.DiffResponse();
    if (provider.diff) {
      const result = await provider.diff(req.getId(), olds, news);
      const { DIFF_SOME, DIFF_NONE, DIFF_UNKNOWN } = providerPb.DiffResponse.DiffChanges;
      response.setChanges(
        result.changes === true ? DIFF_SOME : result.changes === false ? DIFF_NONE : DIFF_UNKNOWN,
      );
      if (result.replaces?.length) response.setReplacesList(result.replaces);
      if (result.deleteBeforeReplace) response.setDeletebeforereplace(true);
    }
    return response;
  });

  const create = handle(async (req: providerPbTypes.CreateRequest) => {
    const props = (req.getProperties()?.toJavaScript() ?? {}) as Props;
    const result = await providerOf(props).create(props);
    const response = new providerPb.CreateResponse();
    response.setId(result.id);
    response.setProperties(struct(withProvider(result.outs as Props, props)));
    return response;
  });

  const read = handle(async (req: providerPbTypes.ReadRequest) => {
    const props = (req.getProperties()?.toJavaScript() ?? {}) as Props;
    const provider = providerOf(props);
    const response = new providerPb.ReadResponse();
    if (!provider.read) {
      response.setId(req.getId());
      response.setProperties(req.getProperties());
      return response;
    }
    const result = await provider.read(req.getId(), props);
    response.setId(result.id ?? "");
    response.setProperties(struct(withProvider(result.props as Props, props)));
    if (result.inputs) response.setInputs(struct(withProvider(result.inputs as Props, props)));
    return response;
  });

  const update = handle(async (req: providerPbTypes.UpdateRequest) => {
    const olds = (req.getOlds()?.toJavaScript() ?? {}) as Props;
    const news = (req.getNews()?.toJavaScript() ?? {}) as Props;
    const provider = providerOf(news);
    const result = provider.update ? await provider.update(req.getId(), olds, news) : {};
    const response = new providerPb.UpdateResponse();
    response.setProperties(struct(withProvider(result.outs as Props | undefined, news)));
    return response;
  });

  const remove = handle(async (req: providerPbTypes.DeleteRequest) => {
    const props = (req.getProperties()?.toJavaScript() ?? {}) as Props;
    const provider = providerOf(props);
    if (provider.delete) await provider.delete(req.getId(), props);
    return new emptyPb.Empty();
  });

  const empty = handle(async () => new emptyPb.Empty());
  const configure = handle(async () => {
    const response = new providerPb.ConfigureResponse();
    response.setAcceptsecrets(false);
    return response;
  });
  const pluginInfo = handle(async () => {
    const info = new pluginPb.PluginInfo();
    info.setVersion(sdkVersion);
    return info;
  });

  return {
    check,
    diff,
    create,
    read,
    update,
    delete: remove,
    configure,
    getPluginInfo: pluginInfo,
    cancel: empty,
    // The engine calls Attach on a provider it attached to (PULUMI_DEBUG_PROVIDERS); nothing to do.
    attach: empty,
    handshake: unimplemented("Handshake"),
    checkConfig: unimplemented("CheckConfig"),
    diffConfig: unimplemented("DiffConfig"),
    invoke: unimplemented("Invoke"),
    streamInvoke: unimplemented("StreamInvoke"),
    call: unimplemented("Call"),
    construct: unimplemented("Construct"),
    getSchema: unimplemented("GetSchema"),
    parameterize: unimplemented("Parameterize"),
    getMapping: unimplemented("GetMapping"),
    getMappings: unimplemented("GetMappings"),
  };
}

/**
 * Serves the protocol on 127.0.0.1 and returns the port, and how to stop. `hosted`: the providers this
 * process runs itself, for the state's provider code to take (see ../resources.ts).
 */
export async function serveDynamicProvider(
  programDirectory: string,
  hosted?: object,
): Promise<{ port: number; stop: () => void }> {
  if (hosted) (globalThis as Record<symbol, unknown>)[HOSTED_PROVIDERS] = hosted;
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(providerGrpc.ResourceProviderService, service(programDirectory));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return { port, stop: () => server.forceShutdown() };
}
