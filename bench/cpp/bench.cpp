// The pure C++ side of the torch-gan benchmarks: the same GAN iterations as
// bench/workloads.ts (torch-gan) and bench/pytorch_bench.py (PyTorch), written on
// libtorch's C++ frontend. A long-lived worker: it reads commands on stdin and
// answers each with one JSON line on stdout.
//
//   info                     versions and thread counts
//   run <workload> <iters>   <iters> iterations of wgan-gp | dragan | dcgan, timed
//   micro <n> <repeats>      per-op cost on tiny tensors (ns/op), medians of <repeats>
//   quit
//
// Usage: bench --threads N [--data path/to/train-images-idx3-ubyte.gz] [--limit 10000]
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace nn = torch::nn;
using Clock = std::chrono::steady_clock;

static constexpr int64_t kBatch = 64;
static constexpr int64_t kZ = 100;
static constexpr int64_t kFilters = 32;

static double msSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

static std::string jsonNum(double v) {
  if (!std::isfinite(v)) return "null";
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

static std::string jsonStr(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// ------------------------------------------------------------------ data

// Fashion-MNIST images (IDX, gzipped) as a uint8 tensor [n, 1, 28, 28].
static torch::Tensor loadImages(const std::string& file, int64_t limit) {
  std::string cmd = "gzip -dc '" + file + "'";
  if (file.size() < 3 || file.substr(file.size() - 3) != ".gz") cmd = "cat '" + file + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + cmd);
  unsigned char hdr[16];
  if (fread(hdr, 1, 16, p) != 16) { pclose(p); throw std::runtime_error("short IDX header in " + file); }
  auto be = [&](int o) { return (int64_t(hdr[o]) << 24) | (int64_t(hdr[o + 1]) << 16) | (int64_t(hdr[o + 2]) << 8) | int64_t(hdr[o + 3]); };
  if (be(0) != 0x803) { pclose(p); throw std::runtime_error("not an IDX image file: " + file); }
  int64_t n = std::min(be(4), limit), rows = be(8), cols = be(12);
  auto t = torch::empty({n, 1, rows, cols}, torch::kUInt8);
  size_t want = size_t(n * rows * cols);
  size_t got = fread(t.data_ptr<uint8_t>(), 1, want, p);
  pclose(p);
  if (got != want) throw std::runtime_error("short read from " + file);
  return t;
}

struct Data {
  torch::Tensor images;  // uint8 [n, 1, 28, 28]
  int64_t cursor = 0;
  // The next batch scaled to [-1, 1] (sequential, wrapping).
  torch::Tensor next() {
    if (cursor + kBatch > images.size(0)) cursor = 0;
    auto x = images.narrow(0, cursor, kBatch).to(torch::kFloat).div(127.5).sub(1);
    cursor += kBatch;
    return x;
  }
};

// ------------------------------------------------------------------ models

enum class Norm { Instance, Batch };

static nn::AnyModule normLayer(Norm n, int64_t c) {
  if (n == Norm::Instance) return nn::AnyModule(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(c)));
  return nn::AnyModule(nn::BatchNorm2d(nn::BatchNorm2dOptions(c)));
}

// make_generator_network(_wgan)(z=100, n_filters=32): 1x1 -> 4 -> 7 -> 14 -> 28.
static nn::Sequential makeGenerator(Norm norm) {
  auto ct = [](int64_t i, int64_t o, int64_t k, int64_t s, int64_t p) {
    return nn::ConvTranspose2d(nn::ConvTranspose2dOptions(i, o, k).stride(s).padding(p).bias(false));
  };
  auto lrelu = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); };
  nn::Sequential g;
  g->push_back(ct(kZ, kFilters * 4, 4, 1, 0));
  g->push_back(normLayer(norm, kFilters * 4));
  g->push_back(lrelu());
  g->push_back(ct(kFilters * 4, kFilters * 2, 3, 2, 1));
  g->push_back(normLayer(norm, kFilters * 2));
  g->push_back(lrelu());
  g->push_back(ct(kFilters * 2, kFilters, 4, 2, 1));
  g->push_back(normLayer(norm, kFilters));
  g->push_back(lrelu());
  g->push_back(ct(kFilters, 1, 4, 2, 1));
  g->push_back(nn::Tanh());
  return g;
}

// Discriminator(WGAN)(n_filters=32) without the final Sigmoid: 28 -> 14 -> 7 -> 4 -> 1.
struct CriticImpl : nn::Module {
  nn::Sequential network;
  explicit CriticImpl(Norm norm) {
    auto cv = [](int64_t i, int64_t o, int64_t k, int64_t s, int64_t p) {
      return nn::Conv2d(nn::Conv2dOptions(i, o, k).stride(s).padding(p).bias(false));
    };
    auto lrelu = [] { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); };
    network->push_back(cv(1, kFilters, 4, 2, 1));
    network->push_back(lrelu());
    network->push_back(cv(kFilters, kFilters * 2, 4, 2, 1));
    network->push_back(normLayer(norm, kFilters * 2));
    network->push_back(lrelu());
    network->push_back(cv(kFilters * 2, kFilters * 4, 3, 2, 1));
    network->push_back(normLayer(norm, kFilters * 4));
    network->push_back(lrelu());
    network->push_back(cv(kFilters * 4, 1, 4, 1, 0));
    register_module("network", network);
  }
  torch::Tensor forward(const torch::Tensor& x) { return network->forward(x).view({-1, 1}); }
};
TORCH_MODULE(Critic);

// λ·mean((‖∇D(x̂)‖₂ per sample − 1)²), differentiable (create_graph).
static torch::Tensor penaltyAt(Critic& D, torch::Tensor xHat, double lambda) {
  xHat.requires_grad_(true);
  auto out = D->forward(xHat);
  auto g = torch::autograd::grad({out}, {xHat}, {torch::ones_like(out)}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  return lambda * (g.view({g.size(0), -1}).norm(2, 1) - 1).pow(2).mean();
}

// ------------------------------------------------------------------ workloads

struct Losses {
  double d = 0, g = 0;
};

struct Workload {
  std::string name;
  nn::Sequential G;
  Critic D{nullptr};
  std::unique_ptr<torch::optim::Adam> optG, optD;
  Data* data = nullptr;

  Workload(const std::string& n, Data* d) : name(n), data(d) {
    Norm norm = n == "dcgan" ? Norm::Batch : Norm::Instance;
    G = makeGenerator(norm);
    D = Critic(norm);
    double lr = n == "wgan-gp" ? 1e-4 : 2e-4;
    double b2 = n == "wgan-gp" ? 0.9 : 0.999;
    optG = std::make_unique<torch::optim::Adam>(G->parameters(), torch::optim::AdamOptions(lr).betas({0.5, b2}));
    optD = std::make_unique<torch::optim::Adam>(D->parameters(), torch::optim::AdamOptions(lr).betas({0.5, b2}));
  }

  torch::Tensor noise() { return torch::randn({kBatch, kZ, 1, 1}); }

  static torch::Tensor bce(const torch::Tensor& logits, double target) {
    return torch::binary_cross_entropy_with_logits(logits, torch::full_like(logits, target));
  }

  Losses iteration() {
    Losses l;
    if (name == "wgan-gp") {
      for (int k = 0; k < 5; ++k) {
        auto real = data->next();
        auto fake = G->forward(noise()).detach();
        D->zero_grad(true);
        auto dReal = D->forward(real);
        auto dFake = D->forward(fake);
        torch::Tensor xHat;
        {
          torch::NoGradGuard ng;
          auto eps = torch::rand({kBatch, 1, 1, 1});
          xHat = eps * real + (1 - eps) * fake;
        }
        auto loss = dFake.mean() - dReal.mean() + penaltyAt(D, xHat, 10.0);
        loss.backward();
        optD->step();
        l.d = loss.item<double>();
      }
      G->zero_grad(true);
      auto gLoss = -D->forward(G->forward(noise())).mean();
      gLoss.backward();
      optG->step();
      l.g = gLoss.item<double>();
    } else {
      auto real = data->next();
      auto fake = G->forward(noise()).detach();
      D->zero_grad(true);
      auto loss = bce(D->forward(real), 1) + bce(D->forward(fake), 0);
      if (name == "dragan") {
        torch::Tensor xHat;
        {
          torch::NoGradGuard ng;
          auto xp = real + 0.5 * real.std() * torch::rand_like(real);
          auto alpha = torch::rand({kBatch, 1, 1, 1});
          xHat = alpha * real + (1 - alpha) * xp;
        }
        loss = loss + penaltyAt(D, xHat, 10.0);
      }
      loss.backward();
      optD->step();
      l.d = loss.item<double>();
      G->zero_grad(true);
      auto gLoss = bce(D->forward(G->forward(noise())), 1);
      gLoss.backward();
      optG->step();
      l.g = gLoss.item<double>();
    }
    return l;
  }
};

// ------------------------------------------------------------------ micro

template <typename F>
static double nsPerOp(int64_t n, F&& body) {
  auto t0 = Clock::now();
  for (int64_t i = 0; i < n; ++i) body();
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / double(n);
}

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

static std::string micro(int64_t n, int repeats) {
  auto a = torch::ones({1});
  auto b = torch::ones({1});
  std::map<std::string, std::vector<double>> r;
  for (int rep = 0; rep < repeats; ++rep) {
    r["add"].push_back(nsPerOp(n, [&] { auto t = a.add(b); }));
    r["mul"].push_back(nsPerOp(n, [&] { auto t = a.mul(b); }));
    r["add_scalar"].push_back(nsPerOp(n, [&] { auto t = a.add(1.5); }));
    r["view"].push_back(nsPerOp(n, [&] { auto t = a.view({1, 1}); }));
    r["sum"].push_back(nsPerOp(n, [&] { auto t = a.sum(); }));
    r["zeros"].push_back(nsPerOp(n, [&] { auto t = torch::zeros({1}); }));
    std::vector<torch::Tensor> made;
    made.reserve(size_t(n));
    r["create"].push_back(nsPerOp(n, [&] { made.push_back(torch::zeros({1})); }));
    auto t0 = Clock::now();
    made.clear();
    r["dispose"].push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / double(n));
    r["item"].push_back(nsPerOp(n, [&] { volatile double v = a.item<double>(); (void)v; }));
    r["numel"].push_back(nsPerOp(n, [&] { volatile int64_t v = a.numel(); (void)v; }));
  }
  std::string out = "{";
  bool first = true;
  for (auto& [k, v] : r) {
    out += (first ? "" : ",") + jsonStr(k) + ":" + jsonNum(median(v));
    first = false;
  }
  return out + "}";
}

// ------------------------------------------------------------------ main

int main(int argc, char** argv) {
  int threads = 0;
  std::string dataFile = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  int64_t limit = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--data" && i + 1 < argc) dataFile = argv[++i];
    else if (a == "--limit" && i + 1 < argc) limit = std::atoll(argv[++i]);
  }
  if (threads > 0) at::set_num_threads(threads);
  torch::manual_seed(3);

  Data data;
  std::map<std::string, std::unique_ptr<Workload>> workloads;
  std::string line;
  std::cout << "{\"ready\":true,\"impl\":\"cpp\"}" << std::endl;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    try {
      if (cmd == "quit") break;
      if (cmd == "info") {
        const char* ob = std::getenv("OPENBLAS_NUM_THREADS");
        std::cout << "{\"impl\":\"cpp\",\"torch\":" << jsonStr(TORCH_VERSION) << ",\"threads\":" << at::get_num_threads()
                  << ",\"interop_threads\":" << at::get_num_interop_threads()
                  << ",\"openblas_num_threads\":" << jsonStr(ob ? ob : "") << ",\"fast_kernels\":false"
                  << ",\"parallel_info\":" << jsonStr(at::get_parallel_info()) << "}" << std::endl;
      } else if (cmd == "run") {
        std::string name;
        int iters = 1;
        in >> name >> iters;
        if (name != "wgan-gp" && name != "dragan" && name != "dcgan") throw std::runtime_error("unknown workload '" + name + "'");
        if (!data.images.defined()) data.images = loadImages(dataFile, limit);
        auto& w = workloads[name];
        if (!w) w = std::make_unique<Workload>(name, &data);
        std::vector<double> ms;
        Losses first, last;
        auto t0 = Clock::now();
        for (int i = 0; i < iters; ++i) {
          auto ti = Clock::now();
          last = w->iteration();
          ms.push_back(msSince(ti));
          if (i == 0) first = last;
        }
        double total = msSince(t0);
        std::string arr = "[";
        for (size_t i = 0; i < ms.size(); ++i) arr += (i ? "," : "") + jsonNum(ms[i]);
        arr += "]";
        std::cout << "{\"impl\":\"cpp\",\"workload\":" << jsonStr(name) << ",\"iters\":" << iters << ",\"total_ms\":" << jsonNum(total)
                  << ",\"iter_ms\":" << arr << ",\"d_loss\":" << jsonNum(first.d) << ",\"g_loss\":" << jsonNum(first.g)
                  << ",\"last_d_loss\":" << jsonNum(last.d) << ",\"last_g_loss\":" << jsonNum(last.g) << "}" << std::endl;
      } else if (cmd == "micro") {
        int64_t n = 100000;
        int repeats = 5;
        in >> n >> repeats;
        std::cout << "{\"impl\":\"cpp\",\"micro\":" << micro(n, repeats) << "}" << std::endl;
      } else if (!cmd.empty()) {
        throw std::runtime_error("unknown command '" + cmd + "'");
      }
    } catch (const std::exception& e) {
      std::string msg = e.what();
      auto nl = msg.find("\nException raised from");
      if (nl != std::string::npos) msg = msg.substr(0, nl);
      std::cout << "{\"impl\":\"cpp\",\"error\":" << jsonStr(msg) << "}" << std::endl;
    }
  }
  return 0;
}
