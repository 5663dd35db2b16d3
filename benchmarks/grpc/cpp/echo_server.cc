// C++ gRPC reference server for the transport benchmark (benchmarks/grpc/run.sh): the same
// grpch2.test.Echo/Unary as grpch2-echo-server, on gRPC C++'s callback API. Also
// Echo/ServerStream (`count` responses echoing message and payload, index 0..count-1, each
// written when the previous write completed): the server-streaming reference of the serving
// benchmark (benchmarks/serving/run.sh).
//
//   echo_server PORT        prints "listening on 127.0.0.1:PORT" once serving
//
// The handler does what ours does for the benchmark request: copy message and payload,
// set index 0, answer OK. MAX_CONCURRENT_STREAMS is 1000 like ours, so h2load -m 64 is
// never throttled by the advertised limit (NGHTTP2-NOTES.md).
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "grpch2/test/echo.grpc.pb.h"

namespace {

class EchoService final : public grpch2::test::Echo::CallbackService {
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  const grpch2::test::EchoRequest* request,
                                  grpch2::test::EchoResponse* response) override {
    response->set_message(request->message());
    response->set_payload(request->payload());
    response->set_index(0);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<grpch2::test::EchoResponse>* ServerStream(
      grpc::CallbackServerContext* context, const grpch2::test::EchoRequest* request) override {
    class Writer : public grpc::ServerWriteReactor<grpch2::test::EchoResponse> {
     public:
      explicit Writer(const grpch2::test::EchoRequest* request) : count_(request->count()) {
        response_.set_message(request->message());
        response_.set_payload(request->payload());
        Next();
      }
      void OnWriteDone(bool ok) override {
        if (!ok) { Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed")); return; }
        Next();
      }
      void OnDone() override { delete this; }

     private:
      void Next() {
        // response_ is only changed between writes (after OnWriteDone).
        if (sent_ >= count_) { Finish(grpc::Status::OK); return; }
        response_.set_index(sent_++);
        StartWrite(&response_);
      }
      grpch2::test::EchoResponse response_;
      const int count_;
      int sent_ = 0;
    };
    (void)context;
    return new Writer(request);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  const std::string address = std::string("127.0.0.1:") + argv[1];
  EchoService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1000);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::printf("listening on %s\n", address.c_str());
  std::fflush(stdout);
  server->Wait();
  return 0;
}
