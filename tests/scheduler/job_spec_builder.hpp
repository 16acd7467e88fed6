#pragma once

// Builders for job specs in tests:
//
//   v1::JobSpec spec = JobSpecBuilder("wordcount")
//       .stage(StageBuilder("tokenize").parallelism(2).files({"*.txt"}))
//       .stage(StageBuilder("count").parallelism(3).input("tokenize", v1::HASH))
//       .build();

#include <initializer_list>
#include <string>
#include <utility>

#include "common/resources.hpp"
#include "tailor/v1/job.pb.h"
#include "tests/common/builders.hpp"

namespace tailor::test {

class StageBuilder {
 public:
  // One task of 1 CPU and 256 MiB running `cat`, one attempt.
  explicit StageBuilder(const std::string& name) {
    stage_.set_name(name);
    stage_.set_parallelism(1);
    *stage_.mutable_resources() = res(1, 256).toProto();
    stage_.mutable_command()->set_shell("cat");
    stage_.set_max_attempts(1);
  }

  StageBuilder& parallelism(int n) {
    stage_.set_parallelism(n);
    return *this;
  }
  StageBuilder& resources(const Resources& profile) {
    *stage_.mutable_resources() = profile.toProto();
    return *this;
  }
  StageBuilder& shell(const std::string& command) {
    stage_.mutable_command()->set_shell(command);
    return *this;
  }
  StageBuilder& argv(std::initializer_list<std::string> args) {
    auto* argv = stage_.mutable_command()->mutable_argv();
    argv->clear_args();
    for (const auto& arg : args) argv->add_args(arg);
    return *this;
  }
  StageBuilder& env(const std::string& key, const std::string& value) {
    (*stage_.mutable_env())[key] = value;
    return *this;
  }
  StageBuilder& maxAttempts(int n) {
    stage_.set_max_attempts(n);
    return *this;
  }
  StageBuilder& input(const std::string& stage, v1::Partitioning partitioning = v1::HASH) {
    auto* input = stage_.add_inputs();
    input->set_stage(stage);
    input->set_partitioning(partitioning);
    return *this;
  }
  StageBuilder& files(std::initializer_list<std::string> patterns) {
    for (const auto& pattern : patterns) stage_.add_input_files(pattern);
    return *this;
  }

  const v1::Stage& build() const { return stage_; }

 private:
  v1::Stage stage_;
};

class JobSpecBuilder {
 public:
  explicit JobSpecBuilder(const std::string& name = "job") { spec_.set_name(name); }

  JobSpecBuilder& stage(const StageBuilder& stage) {
    *spec_.add_stages() = stage.build();
    return *this;
  }
  JobSpecBuilder& output(const std::string& directory) {
    spec_.set_output(directory);
    return *this;
  }
  JobSpecBuilder& baseDir(const std::string& directory) {
    spec_.set_base_dir(directory);
    return *this;
  }

  const v1::JobSpec& build() const { return spec_; }

 private:
  v1::JobSpec spec_;
};

}  // namespace tailor::test
